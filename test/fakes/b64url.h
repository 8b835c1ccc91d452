/* base64url (RFC 4648 §5) without padding, as Web Push keys, VAPID JWTs and
 * the fake's own answers use it. */
#ifndef FAKE_B64URL_H
#define FAKE_B64URL_H

#include <stddef.h>
#include <stdint.h>

/* Characters b64url_encode writes for n bytes, without the NUL. */
#define B64URL_LEN(n) (((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))

/* Writes B64URL_LEN(n) characters and a NUL to out. */
void b64url_encode(const uint8_t *in, size_t n, char *out);
/* Decodes s[0..len) into out (room for cap bytes). Trailing '=' padding is
 * tolerated; any other character outside the alphabet, a dangling sixth bit
 * group or more than cap bytes fails. Returns the byte count or -1. */
long b64url_decode(const char *s, size_t len, uint8_t *out, size_t cap);
/* Same into a malloc'd buffer (NUL-terminated for text), NULL on failure. */
uint8_t *b64url_decode_dup(const char *s, size_t len, size_t *out_len);

#endif
