/*
 * twilio_signature.c — X-Twilio-Signature in C: HMAC-SHA1 (OpenSSL) over the
 * URL followed by the form's name+value pairs sorted by name then value
 * (each distinct pair once), base64. nmc.twilio_signature computes one;
 * nmc.twilio_signature_valid checks a request's signature against the URL as
 * given, without its port, and with the scheme's default port (Twilio signs
 * either way), in constant time. Every inbound webhook runs this; in PL/pgSQL
 * it cost about a tenth of an inbound text. The URL forms and the base
 * string are twilio_signature_core.c; the HMAC and the SQL face are here.
 */
#include "postgres.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/base64.h"
#include "fmgr.h"
#include "utils/array.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"

#include "twilio_signature_core.h"

PG_FUNCTION_INFO_V1(nmc_twilio_signature);
PG_FUNCTION_INFO_V1(nmc_twilio_signature_valid);

/* The pairs of a text[] {name, value, name, value, …}, sorted; NULLs read as "". */
static struct form_pair *
sorted_pairs(ArrayType *arr, int *npairs)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	struct form_pair *pairs;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("form pairs must be a one-dimensional text array")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	*npairs = n / 2;
	pairs = palloc(sizeof(struct form_pair) * Max(*npairs, 1));
	for (int i = 0; i < *npairs; i++)
	{
		pairs[i].name = nulls[2 * i] ? "" : TextDatumGetCString(elems[2 * i]);
		pairs[i].value = nulls[2 * i + 1] ? "" : TextDatumGetCString(elems[2 * i + 1]);
	}
	twilio_sort_pairs(pairs, *npairs);
	return pairs;
}

/* base64(HMAC-SHA1(token, url || pairs)) into out (at least 29 bytes). */
static void
sign(const char *url, int urllen, const struct form_pair *pairs, int npairs,
	 const char *token, int tokenlen, char *out)
{
	size_t		len = twilio_signature_base(url, (size_t) urllen, pairs, npairs, NULL);
	char	   *data = palloc(len + 1);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	int			n;

	twilio_signature_base(url, (size_t) urllen, pairs, npairs, data);
	if (HMAC(EVP_sha1(), token, tokenlen, (unsigned char *) data, len, mac, &maclen) == NULL)
		ereport(ERROR, (errmsg("HMAC-SHA1 failed")));
	n = pg_b64_encode((const char *) mac, (int) maclen, out, pg_b64_enc_len((int) maclen));
	if (n < 0)
		ereport(ERROR, (errmsg("base64 encoding failed")));
	out[n] = '\0';
	pfree(data);
}

Datum
nmc_twilio_signature(PG_FUNCTION_ARGS)
{
	text	   *url = PG_GETARG_TEXT_PP(0);
	text	   *token = PG_GETARG_TEXT_PP(2);
	int			npairs;
	struct form_pair *pairs = sorted_pairs(PG_GETARG_ARRAYTYPE_P(1), &npairs);
	char		out[64];

	sign(VARDATA_ANY(url), VARSIZE_ANY_EXHDR(url), pairs, npairs,
		 VARDATA_ANY(token), VARSIZE_ANY_EXHDR(token), out);
	PG_RETURN_TEXT_P(cstring_to_text(out));
}

Datum
nmc_twilio_signature_valid(PG_FUNCTION_ARGS)
{
	char	   *url;
	text	   *token;
	text	   *signature;
	int			npairs;
	struct form_pair *pairs;
	char		alternative[TWILIO_URL_VARIANT_SIZE];
	const char *forms[2];
	int			nforms = 1;
	bool		valid = false;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_BOOL(false);
	token = PG_GETARG_TEXT_PP(2);
	signature = PG_GETARG_TEXT_PP(3);
	if (VARSIZE_ANY_EXHDR(token) == 0 || VARSIZE_ANY_EXHDR(signature) == 0)
		PG_RETURN_BOOL(false);
	url = text_to_cstring(PG_GETARG_TEXT_PP(0));
	pairs = sorted_pairs(PG_GETARG_ARRAYTYPE_P(1), &npairs);
	forms[0] = url;
	if (twilio_url_alternative(url, alternative))
		forms[nforms++] = alternative;
	for (int i = 0; i < nforms; i++)
	{
		char		expected[64];
		size_t		len;

		sign(forms[i], (int) strlen(forms[i]), pairs, npairs,
			 VARDATA_ANY(token), VARSIZE_ANY_EXHDR(token), expected);
		len = strlen(expected);
		/* Every form is checked: the time taken does not depend on which matched. */
		if (len == (size_t) VARSIZE_ANY_EXHDR(signature) &&
			CRYPTO_memcmp(expected, VARDATA_ANY(signature), len) == 0)
			valid = true;
	}
	PG_RETURN_BOOL(valid);
}
