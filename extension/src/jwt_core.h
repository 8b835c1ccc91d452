/*
 * jwt_core.h — the parts of an HS256 JSON Web Token that need no database:
 * splitting header.payload.signature and the MAC. jwt.c (nmc.jwt_sign,
 * nmc.jwt_verify) reads the claims with PostgreSQL's JSON; fuzz/fuzz_jwt.c
 * drives the same splitting, decoding and checking.
 */
#ifndef NMC_JWT_CORE_H
#define NMC_JWT_CORE_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 7518 §3.2: HS256 is HMAC with SHA-256, a 32-byte MAC. */
#define HS256_MAC_LEN 32

/* The three base64url parts of a token, pointing into it. The signing input
 * is the token up to the second dot: header_len + 1 + payload_len bytes. */
struct jwt_parts
{
	const char *header;
	size_t		header_len;
	const char *payload;
	size_t		payload_len;
	const char *signature;
	size_t		signature_len;
	size_t		signing_input_len;
};

/* Splits token[0..len) at its dots; false unless there are exactly two. */
extern bool jwt_split(const char *token, size_t len, struct jwt_parts *parts);

/* HMAC-SHA256 of data under key into mac; false if OpenSSL failed. */
extern bool jwt_hs256(const char *key, size_t keylen, const char *data, size_t datalen,
					  unsigned char mac[HS256_MAC_LEN]);

/* The decoded signature equals mac, compared in constant time. */
extern bool jwt_signature_matches(const unsigned char *sig, size_t sig_len,
								  const unsigned char mac[HS256_MAC_LEN]);

#endif
