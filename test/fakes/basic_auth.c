/* Basic-auth checking, written out rather than using libmicrohttpd's helper
 * because that API changed (and was deprecated) across 0.9.x releases; the
 * base64 itself is b64url.c's (standard base64 differs in two characters). */
#include "basic_auth.h"
#include "b64url.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
	/* Standard base64 is base64url with two other characters (b64url.c decodes). */
	buf = malloc(2 * len + 2);
	if (!buf)
		return false;
	for (size_t i = 0; i < len; i++)
		buf[len + 1 + i] = header[i] == '+' ? '-' : header[i] == '/' ? '_' : header[i] == '-' || header[i] == '_' ? '!' : header[i];
	n = b64url_decode(buf + len + 1, len, (uint8_t *)buf, len + 1);
	ok = n >= 0 && (size_t)n == ulen + 1 + plen &&
	     memcmp(buf, user, ulen) == 0 && buf[ulen] == ':' &&
	     memcmp(buf + ulen + 1, password, plen) == 0;
	free(buf);
	return ok;
}
