/*
 * url_encode_core.c — the percent-encoding rule (url_encode_core.h): the
 * RFC 3986 unreserved characters as they are, every other byte as %XX.
 */
#include "url_encode_core.h"

#include <stdbool.h>

/* RFC 3986 §2.3: the unreserved characters never need encoding. */
static bool
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

int
url_encode_byte(unsigned char c, char *out)
{
	static const char hex[] = "0123456789ABCDEF";

	if (is_unreserved(c))
	{
		out[0] = (char) c;
		return 1;
	}
	out[0] = '%';
	out[1] = hex[c >> 4];
	out[2] = hex[c & 15];
	return 3;
}
