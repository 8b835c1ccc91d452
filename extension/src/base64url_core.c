/*
 * base64url_core.c — base64url over PostgreSQL's common base64 (a frontend
 * library too, so this needs no backend): swap the two characters in which
 * the alphabets differ, drop or restore the padding. Refuses padding, the
 * standard alphabet's '+' and '/', and a length no whole bytes give.
 */
#include "base64url_core.h"

#include "common/base64.h"

int
base64url_encoded_size(int len)
{
	return pg_b64_enc_len(len) + 1;
}

int
base64url_encode_into(const unsigned char *src, int len, char *dst, int dstlen)
{
	int			n = pg_b64_encode((const char *) src, len, dst, dstlen - 1);

	if (n < 0)
		return -1;
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
	return n;
}

/* Padding restores a multiple of 4; a remainder of 1 character can never
 * come from whole bytes. */
static int
padding(int len)
{
	return (4 - len % 4) % 4;
}

int
base64url_decode_scratch_size(int len)
{
	return len % 4 == 1 ? -1 : len + padding(len) + 1;
}

int
base64url_decoded_size(int len)
{
	return len % 4 == 1 ? -1 : pg_b64_dec_len(len + padding(len)) + 1;
}

int
base64url_decode_into(const char *src, int len, char *scratch,
					  unsigned char *dst, int dstlen)
{
	int			pad = padding(len);
	int			n;

	if (len % 4 == 1)
		return -1;
	for (int i = 0; i < len; i++)
	{
		char		c = src[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (c == '+' || c == '/' || c == '=')
			return -1;
		scratch[i] = c;
	}
	for (int i = 0; i < pad; i++)
		scratch[len + i] = '=';
	scratch[len + pad] = '\0';

	n = pg_b64_decode(scratch, len + pad, (char *) dst, dstlen - 1);
	if (n < 0)
		return -1;
	dst[n] = '\0';
	return n;
}
