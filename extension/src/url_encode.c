/*
 * url_encode.c — nmc.url_encode: percent-encoding for URL queries and
 * application/x-www-form-urlencoded bodies sent to providers. The rule for
 * each byte is url_encode_core.c.
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "url_encode_core.h"

PG_FUNCTION_INFO_V1(nmc_url_encode);

Datum
nmc_url_encode(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	const unsigned char *s = (const unsigned char *) VARDATA_ANY(in);
	int			len = VARSIZE_ANY_EXHDR(in);
	StringInfoData out;

	initStringInfo(&out);
	for (int i = 0; i < len; i++)
	{
		char		encoded[URL_ENCODE_MAX_PER_BYTE];

		appendBinaryStringInfo(&out, encoded, url_encode_byte(s[i], encoded));
	}
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out.data, out.len));
}
