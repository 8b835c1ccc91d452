/*
 * base64url.c — unpadded base64url for jwt.c in palloc'd memory; the coding
 * itself is base64url_core.c.
 */
#include "postgres.h"

#include "base64url.h"
#include "base64url_core.h"

char *
base64url_encode(const unsigned char *src, int len)
{
	int			cap = base64url_encoded_size(len);
	char	   *dst = palloc(cap);

	if (base64url_encode_into(src, len, dst, cap) < 0)
		elog(ERROR, "base64 encoding failed");
	return dst;
}

unsigned char *
base64url_decode(const char *src, int len, int *out_len)
{
	int			scratch_size = base64url_decode_scratch_size(len);
	char	   *scratch;
	unsigned char *dst;
	int			cap;
	int			n;

	if (scratch_size < 0)
		return NULL;
	scratch = palloc(scratch_size);
	cap = base64url_decoded_size(len);
	dst = palloc(cap);
	n = base64url_decode_into(src, len, scratch, dst, cap);
	pfree(scratch);
	if (n < 0)
		return NULL;
	*out_len = n;
	return dst;
}
