/* Basic-auth decoding, written out rather than using libmicrohttpd's helper
 * because that API changed (and was deprecated) across 0.9.x releases. */
#include "basic_auth.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes standard base64 (padding optional); returns length or -1. */
static long b64decode(const char *in, size_t len, char *out)
{
	unsigned acc = 0;
	int bits = 0;
	long o = 0;

	while (len > 0 && in[len - 1] == '=')
		len--;
	for (size_t i = 0; i < len; i++) {
		int v = b64val(in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	return o;
}

bool basic_auth_matches(const char *header, const char *user, const char *password)
{
	size_t ulen = strlen(user), plen = strlen(password), len;
	char *buf;
	long n;
	bool ok;

	if (!header || strncasecmp(header, "Basic ", 6) != 0)
		return false;
	header += 6;
	while (*header == ' ')
		header++;
	len = strlen(header);
	while (len > 0 && header[len - 1] == ' ')
		len--;
	buf = malloc(len + 1);
	if (!buf)
		return false;
	n = b64decode(header, len, buf);
	ok = n >= 0 && (size_t)n == ulen + 1 + plen &&
	     memcmp(buf, user, ulen) == 0 && buf[ulen] == ':' &&
	     memcmp(buf + ulen + 1, password, plen) == 0;
	free(buf);
	return ok;
}
