/* The cryptography of Web Push on OpenSSL 3 EVP: raw P-256 keys, ES256
 * signatures as JWS carries them (RFC 7518 §3.4), and the aes128gcm content
 * coding of RFC 8188 keyed as RFC 8291 says. */
#ifndef FAKE_PUSH_CRYPTO_H
#define FAKE_PUSH_CRYPTO_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#define PUSH_PUB_LEN 65   /* uncompressed P-256 point: 0x04 || X || Y */
#define PUSH_PRIV_LEN 32
#define PUSH_AUTH_LEN 16
#define PUSH_SALT_LEN 16
#define PUSH_SIG_LEN 64   /* ES256: r || s */

/* A fresh key pair; its public point goes to pub. NULL on failure. */
EVP_PKEY *push_key_generate(uint8_t pub[PUSH_PUB_LEN]);
/* A public key from an uncompressed point; NULL unless it is on P-256. */
EVP_PKEY *push_key_public(const uint8_t pub[PUSH_PUB_LEN]);
/* A key pair from a raw private scalar and its public point; NULL unless
 * the two belong together. */
EVP_PKEY *push_key_private(const uint8_t priv[PUSH_PRIV_LEN],
			   const uint8_t pub[PUSH_PUB_LEN]);

/* ECDSA P-256 with SHA-256 over msg, signature as raw r || s. */
int push_es256_sign(EVP_PKEY *key, const void *msg, size_t len,
		    uint8_t sig[PUSH_SIG_LEN]);
/* 1 if sig is valid, 0 otherwise. */
int push_es256_verify(EVP_PKEY *pub, const void *msg, size_t len,
		      const uint8_t sig[PUSH_SIG_LEN]);

/* ECDH: the shared X coordinate of own's private key and peer_pub. */
int push_ecdh(EVP_PKEY *own, const uint8_t peer_pub[PUSH_PUB_LEN], uint8_t secret[32]);

/* Every value RFC 8291 §3.3-3.4 derives, kept for the vector check. */
struct push_keys {
	uint8_t prk_key[32];
	uint8_t ikm[32];
	uint8_t prk[32];
	uint8_t cek[16];
	uint8_t nonce[12];
};

/* Key derivation from the ECDH secret (no failure short of OpenSSL's). */
int push_derive(const uint8_t ecdh_secret[32], const uint8_t auth[PUSH_AUTH_LEN],
		const uint8_t ua_pub[PUSH_PUB_LEN], const uint8_t as_pub[PUSH_PUB_LEN],
		const uint8_t salt[PUSH_SALT_LEN], struct push_keys *out);

/* The user agent's side: decrypts a one-record aes128gcm body. Returns 0
 * with a malloc'd plaintext (NUL-terminated, padding removed), or -1 with
 * *err saying why. */
int push_decrypt(EVP_PKEY *ua, const uint8_t ua_pub[PUSH_PUB_LEN],
		 const uint8_t auth[PUSH_AUTH_LEN], const uint8_t *body, size_t len,
		 uint8_t **plain, size_t *plain_len, const char **err);

/* The application server's side, for tests: as is the sender's (usually
 * ephemeral) key pair with public point as_pub; pad zero bytes follow the
 * delimiter. Returns 0 with a malloc'd body, -1 on failure. */
int push_encrypt(EVP_PKEY *as, const uint8_t as_pub[PUSH_PUB_LEN],
		 const uint8_t ua_pub[PUSH_PUB_LEN], const uint8_t auth[PUSH_AUTH_LEN],
		 const uint8_t salt[PUSH_SALT_LEN], uint32_t rs,
		 const uint8_t *plain, size_t plain_len, size_t pad,
		 uint8_t **body, size_t *body_len);

#endif
