/*
 * jwt_core.c — token structure and HS256 (jwt_core.h): a token is exactly
 * three dot-separated parts, and its signature is the HMAC-SHA256 of the
 * first two with the dot between them.
 */
#include "jwt_core.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

bool
jwt_split(const char *token, size_t len, struct jwt_parts *parts)
{
	const char *end = token + len;
	const char *dot1 = memchr(token, '.', len);
	const char *dot2 = dot1 ? memchr(dot1 + 1, '.', (size_t) (end - dot1 - 1)) : NULL;

	if (dot1 == NULL || dot2 == NULL || memchr(dot2 + 1, '.', (size_t) (end - dot2 - 1)) != NULL)
		return false;
	parts->header = token;
	parts->header_len = (size_t) (dot1 - token);
	parts->payload = dot1 + 1;
	parts->payload_len = (size_t) (dot2 - dot1 - 1);
	parts->signature = dot2 + 1;
	parts->signature_len = (size_t) (end - dot2 - 1);
	parts->signing_input_len = (size_t) (dot2 - token);
	return true;
}

bool
jwt_hs256(const char *key, size_t keylen, const char *data, size_t datalen,
		  unsigned char mac[HS256_MAC_LEN])
{
	unsigned int maclen = 0;

	return HMAC(EVP_sha256(), key, (int) keylen, (const unsigned char *) data,
				datalen, mac, &maclen) != NULL && maclen == HS256_MAC_LEN;
}

bool
jwt_signature_matches(const unsigned char *sig, size_t sig_len,
					  const unsigned char mac[HS256_MAC_LEN])
{
	return sig_len == HS256_MAC_LEN && CRYPTO_memcmp(sig, mac, HS256_MAC_LEN) == 0;
}
