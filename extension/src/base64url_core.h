/*
 * base64url_core.h — unpadded base64url (RFC 4648 §5) as JWTs use it, with
 * caller-supplied buffers and no PostgreSQL backend: base64url.c wraps it
 * with palloc for jwt.c; fuzz/fuzz_jwt.c calls it directly.
 */
#ifndef NMC_BASE64URL_CORE_H
#define NMC_BASE64URL_CORE_H

/* Room base64url_encode_into needs for len bytes (the NUL included). */
extern int	base64url_encoded_size(int len);

/* Encodes src into dst (base64url_encoded_size(len) bytes), NUL-terminated;
 * returns the length, or -1 if encoding failed. */
extern int	base64url_encode_into(const unsigned char *src, int len, char *dst, int dstlen);

/* For decoding len characters: the scratch buffer and the output buffer
 * base64url_decode_into needs, or -1 when len cannot be base64url at all. */
extern int	base64url_decode_scratch_size(int len);
extern int	base64url_decoded_size(int len);

/* Decodes src[0..len) into dst (NUL-terminated for convenience), using
 * scratch; returns the decoded size, or -1 when src is not valid unpadded
 * base64url. */
extern int	base64url_decode_into(const char *src, int len, char *scratch,
								  unsigned char *dst, int dstlen);

#endif
