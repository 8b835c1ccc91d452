/*
 * web_push_core.h — the cryptography of Web Push with OpenSSL and no
 * PostgreSQL backend: P-256 keys, RFC 8291 message encryption (aes128gcm,
 * RFC 8188) and the ES256 signature of an RFC 8292 VAPID token. web_push.c
 * wraps it for SQL.
 */
#ifndef NMC_WEB_PUSH_CORE_H
#define NMC_WEB_PUSH_CORE_H

#include <stddef.h>

#define WEB_PUSH_PRIVATE_KEY_LEN 32		/* a P-256 scalar, big-endian */
#define WEB_PUSH_PUBLIC_KEY_LEN 65		/* an uncompressed P-256 point */
#define WEB_PUSH_AUTH_LEN 16
#define WEB_PUSH_SALT_LEN 16
#define WEB_PUSH_HEADER_LEN (WEB_PUSH_SALT_LEN + 4 + 1 + WEB_PUSH_PUBLIC_KEY_LEN)
#define WEB_PUSH_OVERHEAD (WEB_PUSH_HEADER_LEN + 1 + 16)	/* header, delimiter, tag */
#define WEB_PUSH_RECORD_SIZE 4096
#define ES256_SIGNATURE_LEN 64

/* Each returns NULL on success, else why it failed (a static string). */

/* The public point of a private scalar. */
extern const char *web_push_public_key(const unsigned char priv[WEB_PUSH_PRIVATE_KEY_LEN],
									   unsigned char pub[WEB_PUSH_PUBLIC_KEY_LEN]);

/* A new P-256 key pair. */
extern const char *web_push_generate_keys(unsigned char priv[WEB_PUSH_PRIVATE_KEY_LEN],
										  unsigned char pub[WEB_PUSH_PUBLIC_KEY_LEN]);

/*
 * Encrypts payload for a subscription (its p256dh key ua_public and auth
 * secret) into one aes128gcm record: out receives salt || rs || idlen ||
 * the sender's public key || ciphertext || tag, out_len its size (payload
 * length + WEB_PUSH_OVERHEAD; at most WEB_PUSH_RECORD_SIZE). as_private and
 * salt are the sender's ephemeral key and the salt: NULL draws them at
 * random (given only to reproduce RFC 8291's example).
 */
extern const char *web_push_encrypt(const unsigned char *payload, size_t payload_len,
									const unsigned char ua_public[WEB_PUSH_PUBLIC_KEY_LEN],
									const unsigned char auth[WEB_PUSH_AUTH_LEN],
									const unsigned char *as_private,
									const unsigned char *salt,
									unsigned char *out, size_t out_cap, size_t *out_len);

/* ES256 (ECDSA P-256 with SHA-256) of msg under priv, as JWS wants it: r || s. */
extern const char *es256_sign(const unsigned char priv[WEB_PUSH_PRIVATE_KEY_LEN],
							  const unsigned char *msg, size_t msg_len,
							  unsigned char sig[ES256_SIGNATURE_LEN]);

#endif
