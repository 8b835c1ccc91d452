/*
 * base64url.h — unpadded base64url (RFC 4648 §5) as JWTs use it.
 */
#ifndef NMC_BASE64URL_H
#define NMC_BASE64URL_H

#include "postgres.h"

/* Returns a palloc'd NUL-terminated string. */
extern char *base64url_encode(const unsigned char *src, int len);

/* Returns a palloc'd buffer (NUL-terminated for convenience) or NULL when
 * src is not valid unpadded base64url. *out_len receives the decoded size. */
extern unsigned char *base64url_decode(const char *src, int len, int *out_len);

#endif
