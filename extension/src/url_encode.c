/*
 * url_encode.c — nmc.url_encode: percent-encoding for URL queries and
 * application/x-www-form-urlencoded bodies sent to providers.
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(nmc_url_encode);

/* RFC 3986 §2.3: the unreserved characters never need encoding. */
static bool
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

Datum
nmc_url_encode(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	const unsigned char *s = (const unsigned char *) VARDATA_ANY(in);
	int			len = VARSIZE_ANY_EXHDR(in);
	static const char hex[] = "0123456789ABCDEF";
	StringInfoData out;

	initStringInfo(&out);
	for (int i = 0; i < len; i++)
	{
		if (is_unreserved(s[i]))
			appendStringInfoChar(&out, (char) s[i]);
		else
		{
			appendStringInfoChar(&out, '%');
			appendStringInfoChar(&out, hex[s[i] >> 4]);
			appendStringInfoChar(&out, hex[s[i] & 15]);
		}
	}
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out.data, out.len));
}
