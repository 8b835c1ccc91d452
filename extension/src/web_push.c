/*
 * web_push.c — Web Push in SQL: nmc.web_push_keys (a new P-256 key pair, for
 * the VAPID key made at install), nmc.web_push_public_key, nmc.web_push_encrypt (RFC 8291: one
 * aes128gcm body for a subscription) and nmc.es256_sign (the signature of a
 * VAPID token). The cryptography is web_push_core.c; sql/outbox/web_push.sql builds
 * the request around it.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "web_push_core.h"

PG_FUNCTION_INFO_V1(nmc_web_push_keys);
PG_FUNCTION_INFO_V1(nmc_web_push_public_key);
PG_FUNCTION_INFO_V1(nmc_web_push_encrypt);
PG_FUNCTION_INFO_V1(nmc_es256_sign);

static bytea *
to_bytea(const unsigned char *data, size_t len)
{
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), data, len);
	return b;
}

/* A bytea argument of exactly len bytes, or NULL when the argument is NULL. */
static const unsigned char *
fixed_arg(FunctionCallInfo fcinfo, int n, size_t len, const char *what)
{
	bytea	   *b;

	if (PG_ARGISNULL(n))
		return NULL;
	b = PG_GETARG_BYTEA_PP(n);
	if (VARSIZE_ANY_EXHDR(b) != len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be %zu bytes, not %zu", what, len, (size_t) VARSIZE_ANY_EXHDR(b))));
	return (const unsigned char *) VARDATA_ANY(b);
}

static void
check(const char *err)
{
	if (err != NULL)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("web push: %s", err)));
}

Datum
nmc_web_push_keys(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	unsigned char priv[WEB_PUSH_PRIVATE_KEY_LEN];
	unsigned char pub[WEB_PUSH_PUBLIC_KEY_LEN];
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "nmc.web_push_keys must return a record");
	check(web_push_generate_keys(priv, pub));
	values[0] = PointerGetDatum(to_bytea(priv, sizeof priv));
	values[1] = PointerGetDatum(to_bytea(pub, sizeof pub));
	explicit_bzero(priv, sizeof priv);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

Datum
nmc_web_push_public_key(PG_FUNCTION_ARGS)
{
	unsigned char pub[WEB_PUSH_PUBLIC_KEY_LEN];

	check(web_push_public_key(fixed_arg(fcinfo, 0, WEB_PUSH_PRIVATE_KEY_LEN, "the private key"), pub));
	PG_RETURN_BYTEA_P(to_bytea(pub, sizeof pub));
}

Datum
nmc_web_push_encrypt(PG_FUNCTION_ARGS)
{
	bytea	   *payload;
	const unsigned char *ua_public;
	const unsigned char *auth;
	unsigned char out[WEB_PUSH_RECORD_SIZE];
	size_t		out_len = 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	payload = PG_GETARG_BYTEA_PP(0);
	ua_public = fixed_arg(fcinfo, 1, WEB_PUSH_PUBLIC_KEY_LEN, "the subscription's p256dh key");
	auth = fixed_arg(fcinfo, 2, WEB_PUSH_AUTH_LEN, "the subscription's auth secret");
	check(web_push_encrypt((const unsigned char *) VARDATA_ANY(payload), VARSIZE_ANY_EXHDR(payload), ua_public, auth,
						   fixed_arg(fcinfo, 3, WEB_PUSH_PRIVATE_KEY_LEN, "the sender's private key"),
						   fixed_arg(fcinfo, 4, WEB_PUSH_SALT_LEN, "the salt"),
						   out, sizeof out, &out_len));
	PG_RETURN_BYTEA_P(to_bytea(out, out_len));
}

Datum
nmc_es256_sign(PG_FUNCTION_ARGS)
{
	const unsigned char *priv = fixed_arg(fcinfo, 0, WEB_PUSH_PRIVATE_KEY_LEN, "the private key");
	bytea	   *msg = PG_GETARG_BYTEA_PP(1);
	unsigned char sig[ES256_SIGNATURE_LEN];

	check(es256_sign(priv, (const unsigned char *) VARDATA_ANY(msg), VARSIZE_ANY_EXHDR(msg), sig));
	PG_RETURN_BYTEA_P(to_bytea(sig, sizeof sig));
}
