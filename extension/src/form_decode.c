/*
 * form_decode.c — nmc.form_decode: application/x-www-form-urlencoded bodies
 * (Twilio's webhooks) into name/value pairs, keeping repeats and order, since
 * Twilio's signature covers every parameter exactly as sent.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(nmc_form_decode);

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes one name or value ('+' is a space, %XX a byte); false if malformed. */
static bool
decode_part(const char *s, int len, StringInfo out)
{
	resetStringInfo(out);
	for (int i = 0; i < len; i++)
	{
		if (s[i] == '+')
			appendStringInfoChar(out, ' ');
		else if (s[i] == '%')
		{
			int			hi = i + 2 < len ? hex_value(s[i + 1]) : -1;
			int			lo = i + 2 < len ? hex_value(s[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				return false;
			appendStringInfoChar(out, (char) (hi * 16 + lo));
			i += 2;
		}
		else
			appendStringInfoChar(out, s[i]);
	}
	return memchr(out->data, '\0', out->len) == NULL &&
		pg_verifymbstr(out->data, out->len, true);
}

Datum
nmc_form_decode(PG_FUNCTION_ARGS)
{
	text	   *body = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(body);
	int			len = VARSIZE_ANY_EXHDR(body);
	ArrayBuildState *astate = initArrayResult(TEXTOID, CurrentMemoryContext, false);
	StringInfoData part;
	int			start = 0;

	initStringInfo(&part);
	while (start < len)
	{
		int			end = start;
		int			eq;

		while (end < len && s[end] != '&')
			end++;
		if (end > start)
		{
			eq = start;
			while (eq < end && s[eq] != '=')
				eq++;
			if (!decode_part(s + start, eq - start, &part))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("malformed form field name")));
			astate = accumArrayResult(astate, CStringGetTextDatum(part.data), false, TEXTOID, CurrentMemoryContext);
			if (!decode_part(s + Min(eq + 1, end), end - Min(eq + 1, end), &part))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("malformed form field value")));
			astate = accumArrayResult(astate, CStringGetTextDatum(part.data), false, TEXTOID, CurrentMemoryContext);
		}
		start = end + 1;
	}
	PG_RETURN_DATUM(makeArrayResult(astate, CurrentMemoryContext));
}
