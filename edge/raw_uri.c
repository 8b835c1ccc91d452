/* raw_uri.c — the two facts read from the undecoded request URI (raw_uri.h):
 * webhook signatures cover the query exactly as sent, and a "%00" in the path
 * would otherwise pass unseen. */
#include "raw_uri.h"

#include <stddef.h>
#include <string.h>

bool raw_uri_path_has_nul(const char *raw_uri)
{
	if (raw_uri == NULL)
		return false;
	for (const char *p = raw_uri; *p != '\0' && *p != '?'; p++)
		if (p[0] == '%' && p[1] == '0' && p[2] == '0')
			return true;
	return false;
}

const char *raw_uri_query(const char *raw_uri)
{
	const char *q = raw_uri ? strchr(raw_uri, '?') : NULL;
	return q ? q + 1 : NULL;
}
