/*
 * twilio_signature.c — X-Twilio-Signature in C: HMAC-SHA1 (OpenSSL) over the
 * URL followed by the form's name+value pairs sorted by name then value
 * (each distinct pair once), base64. nmc.twilio_signature computes one;
 * nmc.twilio_signature_valid checks a request's signature against the URL as
 * given, without its port, and with the scheme's default port (Twilio signs
 * either way), in constant time. Every inbound webhook runs this; in PL/pgSQL
 * it cost about a tenth of an inbound text.
 */
#include "postgres.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/base64.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(nmc_twilio_signature);
PG_FUNCTION_INFO_V1(nmc_twilio_signature_valid);

typedef struct FormPair
{
	const char *name;
	const char *value;
} FormPair;

static int
pair_cmp(const void *a, const void *b)
{
	const FormPair *x = a;
	const FormPair *y = b;
	int			c = strcmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->value, y->value);
}

/* The pairs of a text[] {name, value, name, value, …}, sorted; NULLs read as "". */
static FormPair *
sorted_pairs(ArrayType *arr, int *npairs)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	FormPair   *pairs;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("form pairs must be a one-dimensional text array")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	*npairs = n / 2;
	pairs = palloc(sizeof(FormPair) * Max(*npairs, 1));
	for (int i = 0; i < *npairs; i++)
	{
		pairs[i].name = nulls[2 * i] ? "" : TextDatumGetCString(elems[2 * i]);
		pairs[i].value = nulls[2 * i + 1] ? "" : TextDatumGetCString(elems[2 * i + 1]);
	}
	qsort(pairs, *npairs, sizeof(FormPair), pair_cmp);
	return pairs;
}

/* base64(HMAC-SHA1(token, url || pairs)) into out (at least 29 bytes). */
static void
sign(const char *url, int urllen, const FormPair *pairs, int npairs,
	 const char *token, int tokenlen, char *out)
{
	StringInfoData data;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	int			n;

	initStringInfo(&data);
	appendBinaryStringInfo(&data, url, urllen);
	for (int i = 0; i < npairs; i++)
	{
		if (i > 0 && pair_cmp(&pairs[i], &pairs[i - 1]) == 0)
			continue;
		appendStringInfoString(&data, pairs[i].name);
		appendStringInfoString(&data, pairs[i].value);
	}
	if (HMAC(EVP_sha1(), token, tokenlen, (unsigned char *) data.data, data.len, mac, &maclen) == NULL)
		ereport(ERROR, (errmsg("HMAC-SHA1 failed")));
	n = pg_b64_encode((const char *) mac, (int) maclen, out, pg_b64_enc_len((int) maclen));
	if (n < 0)
		ereport(ERROR, (errmsg("base64 encoding failed")));
	out[n] = '\0';
	pfree(data.data);
}

Datum
nmc_twilio_signature(PG_FUNCTION_ARGS)
{
	text	   *url = PG_GETARG_TEXT_PP(0);
	text	   *token = PG_GETARG_TEXT_PP(2);
	int			npairs;
	FormPair   *pairs = sorted_pairs(PG_GETARG_ARRAYTYPE_P(1), &npairs);
	char		out[64];

	sign(VARDATA_ANY(url), VARSIZE_ANY_EXHDR(url), pairs, npairs,
		 VARDATA_ANY(token), VARSIZE_ANY_EXHDR(token), out);
	PG_RETURN_TEXT_P(cstring_to_text(out));
}

/*
 * The URL forms Twilio may have signed: as given; and if it parses as
 * scheme://host[:port]rest, without the port when it has one, or with the
 * scheme's default port when it has none.
 */
static int
url_variants(const char *url, char variants[2][2048])
{
	const char *p = strstr(url, "://");
	const char *host;
	const char *end;
	const char *colon;
	size_t		schemelen;
	bool		https;

	if (strlen(url) >= 2048 - 8)
		return 1;
	snprintf(variants[0], 2048, "%s", url);
	if (p == NULL)
		return 1;
	schemelen = (size_t) (p - url);
	if (!((schemelen == 4 && strncmp(url, "http", 4) == 0) || (schemelen == 5 && strncmp(url, "https", 5) == 0)))
		return 1;
	https = schemelen == 5;
	host = p + 3;
	end = host + strcspn(host, "/?#");
	colon = memchr(host, ':', (size_t) (end - host));
	if (end == host || colon == host)
		return 1;
	if (colon != NULL)
	{
		for (const char *d = colon + 1; d < end; d++)
			if (*d < '0' || *d > '9')
				return 1;
		if (colon + 1 == end)
			return 1;
		snprintf(variants[1], 2048, "%.*s%s", (int) (colon - url), url, end);
	}
	else
		snprintf(variants[1], 2048, "%.*s%s%s", (int) (end - url), url, https ? ":443" : ":80", end);
	return 2;
}

Datum
nmc_twilio_signature_valid(PG_FUNCTION_ARGS)
{
	char	   *url;
	text	   *token;
	text	   *signature;
	int			npairs;
	FormPair   *pairs;
	char		variants[2][2048];
	int			nvariants;
	bool		valid = false;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_BOOL(false);
	token = PG_GETARG_TEXT_PP(2);
	signature = PG_GETARG_TEXT_PP(3);
	if (VARSIZE_ANY_EXHDR(token) == 0 || VARSIZE_ANY_EXHDR(signature) == 0)
		PG_RETURN_BOOL(false);
	url = text_to_cstring(PG_GETARG_TEXT_PP(0));
	pairs = sorted_pairs(PG_GETARG_ARRAYTYPE_P(1), &npairs);
	nvariants = url_variants(url, variants);
	for (int i = 0; i < nvariants; i++)
	{
		char		expected[64];
		size_t		len;

		sign(variants[i], (int) strlen(variants[i]), pairs, npairs,
			 VARDATA_ANY(token), VARSIZE_ANY_EXHDR(token), expected);
		len = strlen(expected);
		/* Every variant is checked: the time taken does not depend on which matched. */
		if (len == (size_t) VARSIZE_ANY_EXHDR(signature) &&
			CRYPTO_memcmp(expected, VARDATA_ANY(signature), len) == 0)
			valid = true;
	}
	PG_RETURN_BOOL(valid);
}
