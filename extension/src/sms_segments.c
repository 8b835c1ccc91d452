/*
 * sms_segments.c — nmc.sms_segments: the SMS text rules (GSM-7 or UCS-2, and
 * how many segments a text is billed and delivered as) for SQL. The rules
 * are sms_segments_core.c; this reads the text and builds the record.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "sms_segments_core.h"

PG_FUNCTION_INFO_V1(nmc_sms_segments);

Datum
nmc_sms_segments(PG_FUNCTION_ARGS)
{
	text	   *body = PG_GETARG_TEXT_PP(0);
	int			len = VARSIZE_ANY_EXHDR(body);
	pg_wchar   *chars = palloc((len + 1) * sizeof(pg_wchar));
	int			nchars = pg_mb2wchar_with_len(VARDATA_ANY(body), chars, len);
	struct sms_count count;
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (GetDatabaseEncoding() != PG_UTF8)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("nmc.sms_segments needs a UTF-8 database")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "nmc.sms_segments must return a record");

	sms_segments_count(chars, nchars, &count);

	values[0] = CStringGetTextDatum(count.gsm7 ? "GSM-7" : "UCS-2");
	values[1] = Int32GetDatum(count.segments);
	values[2] = Int32GetDatum(count.units);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
