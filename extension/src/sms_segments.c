/*
 * sms_segments.c — nmc.sms_segments: the SMS text rules. Decides whether a
 * text fits the GSM 03.38 7-bit alphabet or needs UCS-2, and how many
 * segments it will be billed and delivered as.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(nmc_sms_segments);

/* 3GPP TS 23.038: one message carries 140 octets = 160 septets or 70 UTF-16
 * units; a concatenated part loses 6 octets to its header: 153 or 67. */
#define GSM7_SINGLE 160
#define GSM7_PART 153
#define UCS2_SINGLE 70
#define UCS2_PART 67

/* The GSM 03.38 default alphabet (one septet each), as Unicode code points. */
static const pg_wchar gsm7_basic[] = {
	'@', 0xA3, '$', 0xA5, 0xE8, 0xE9, 0xF9, 0xEC, 0xF2, 0xC7, '\n', 0xD8, 0xF8, '\r', 0xC5, 0xE5,
	0x394, '_', 0x3A6, 0x393, 0x39B, 0x3A9, 0x3A0, 0x3A8, 0x3A3, 0x398, 0x39E, 0xC6, 0xE6, 0xDF, 0xC9,
	' ', '!', '"', '#', 0xA4, '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
	0xA1, 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 0xC4, 0xD6, 0xD1, 0xDC, 0xA7,
	0xBF, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 0xE4, 0xF6, 0xF1, 0xFC, 0xE0,
};

/* The extension table: an escape septet plus one, so two septets each. */
static const pg_wchar gsm7_extension[] = {'\f', '^', '{', '}', '\\', '[', '~', ']', '|', 0x20AC};

static bool
in_table(pg_wchar c, const pg_wchar *table, int n)
{
	for (int i = 0; i < n; i++)
		if (table[i] == c)
			return true;
	return false;
}

Datum
nmc_sms_segments(PG_FUNCTION_ARGS)
{
	text	   *body = PG_GETARG_TEXT_PP(0);
	int			len = VARSIZE_ANY_EXHDR(body);
	pg_wchar   *chars = palloc((len + 1) * sizeof(pg_wchar));
	int			nchars = pg_mb2wchar_with_len(VARDATA_ANY(body), chars, len);
	int			septets = 0;
	int			utf16_units = 0;
	bool		gsm7 = true;
	int			units;
	int			segments;
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (GetDatabaseEncoding() != PG_UTF8)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("nmc.sms_segments needs a UTF-8 database")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "nmc.sms_segments must return a record");

	for (int i = 0; i < nchars; i++)
	{
		pg_wchar	c = chars[i];

		utf16_units += (c > 0xFFFF) ? 2 : 1;
		if (in_table(c, gsm7_basic, lengthof(gsm7_basic)))
			septets += 1;
		else if (in_table(c, gsm7_extension, lengthof(gsm7_extension)))
			septets += 2;
		else
			gsm7 = false;
	}

	if (gsm7)
	{
		units = septets;
		segments = units == 0 ? 0 : units <= GSM7_SINGLE ? 1 : (units + GSM7_PART - 1) / GSM7_PART;
	}
	else
	{
		units = utf16_units;
		segments = units <= UCS2_SINGLE ? 1 : (units + UCS2_PART - 1) / UCS2_PART;
	}

	values[0] = CStringGetTextDatum(gsm7 ? "GSM-7" : "UCS-2");
	values[1] = Int32GetDatum(segments);
	values[2] = Int32GetDatum(units);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
