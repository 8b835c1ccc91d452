/*
 * base64url.c — unpadded base64url encoding and strict decoding for JWTs,
 * built on PostgreSQL's common base64 by swapping the two differing
 * characters of the alphabet.
 */
#include "postgres.h"

#include "common/base64.h"

#include "base64url.h"

char *
base64url_encode(const unsigned char *src, int len)
{
	int			cap = pg_b64_enc_len(len) + 1;
	char	   *dst = palloc(cap);
	int			n = pg_b64_encode((const char *) src, len, dst, cap);

	if (n < 0)
		elog(ERROR, "base64 encoding failed");
	while (n > 0 && dst[n - 1] == '=')
		n--;
	dst[n] = '\0';
	for (int i = 0; i < n; i++)
	{
		if (dst[i] == '+')
			dst[i] = '-';
		else if (dst[i] == '/')
			dst[i] = '_';
	}
	return dst;
}

unsigned char *
base64url_decode(const char *src, int len, int *out_len)
{
	/* A remainder of 1 character can never come from whole bytes. */
	int			pad = (4 - len % 4) % 4;
	char	   *std;
	unsigned char *dst;
	int			cap;
	int			n;

	if (len % 4 == 1)
		return NULL;
	std = palloc(len + pad + 1);
	for (int i = 0; i < len; i++)
	{
		char		c = src[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (c == '+' || c == '/' || c == '=')
			return NULL;
		std[i] = c;
	}
	for (int i = 0; i < pad; i++)
		std[len + i] = '=';
	std[len + pad] = '\0';

	cap = pg_b64_dec_len(len + pad) + 1;
	dst = palloc(cap);
	n = pg_b64_decode(std, len + pad, (char *) dst, cap);
	pfree(std);
	if (n < 0)
		return NULL;
	dst[n] = '\0';
	*out_len = n;
	return dst;
}
