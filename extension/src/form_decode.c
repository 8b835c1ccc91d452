/*
 * form_decode.c — nmc.form_decode: application/x-www-form-urlencoded bodies
 * (Twilio's webhooks) into name/value pairs, keeping repeats and order, since
 * Twilio's signature covers every parameter exactly as sent. The parsing
 * itself is form_decode_core.c; this adds the encoding check and the errors.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "form_decode_core.h"

PG_FUNCTION_INFO_V1(nmc_form_decode);

/* One decoded name or value as text; false if malformed. */
static bool
decode_part(const char *s, size_t len, char *buf, Datum *result)
{
	size_t		n;

	if (form_decode_part(s, len, buf, &n) != FORM_DECODE_OK ||
		!pg_verifymbstr(buf, (int) n, true))
		return false;
	*result = PointerGetDatum(cstring_to_text_with_len(buf, (int) n));
	return true;
}

Datum
nmc_form_decode(PG_FUNCTION_ARGS)
{
	text	   *body = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(body);
	size_t		len = VARSIZE_ANY_EXHDR(body);
	ArrayBuildState *astate = initArrayResult(TEXTOID, CurrentMemoryContext, false);
	/* A decoded part is never longer than the body. */
	char	   *buf = palloc(len + 1);
	size_t		pos = 0;
	struct form_field field;
	Datum		part;

	while (form_next_field(s, len, &pos, &field))
	{
		if (!decode_part(field.name, field.name_len, buf, &part))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("malformed form field name")));
		astate = accumArrayResult(astate, part, false, TEXTOID, CurrentMemoryContext);
		if (!decode_part(field.value, field.value_len, buf, &part))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("malformed form field value")));
		astate = accumArrayResult(astate, part, false, TEXTOID, CurrentMemoryContext);
	}
	pfree(buf);
	PG_RETURN_DATUM(makeArrayResult(astate, CurrentMemoryContext));
}
