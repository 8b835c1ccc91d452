/*
 * jwt.c — HS256 JSON Web Tokens: nmc.jwt_sign and nmc.jwt_verify.
 * The API layer signs a token at login and verifies it on every call; each
 * way a token can be refused has its own SQLSTATE so callers can tell the
 * client exactly why (malformed, alg not allowed, alg none, signature, expired,
 * not yet valid). Splitting the token and the MAC are jwt_core.c; the
 * claims are read here with PostgreSQL's JSON.
 */
#include "postgres.h"

#include "common/jsonapi.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "base64url.h"
#include "jwt_core.h"

#define ERRCODE_JWT_MALFORMED		MAKE_SQLSTATE('N','M','J','0','1')
#define ERRCODE_JWT_ALG_NOT_ALLOWED	MAKE_SQLSTATE('N','M','J','0','2')
#define ERRCODE_JWT_BAD_SIGNATURE	MAKE_SQLSTATE('N','M','J','0','3')
#define ERRCODE_JWT_EXPIRED			MAKE_SQLSTATE('N','M','J','0','4')
#define ERRCODE_JWT_ALG_NONE		MAKE_SQLSTATE('N','M','J','0','5')
#define ERRCODE_JWT_NOT_YET_VALID	MAKE_SQLSTATE('N','M','J','0','6')

/*
 * Clock skew allowed for iat (RFC 7519 §4.1.6 leaves the check to the
 * application): a token issued further in the future was not issued by a
 * clock we trust. nbf (§4.1.5) gets no leeway: "MUST NOT be accepted before".
 */
#define JWT_IAT_LEEWAY_SECONDS 60

#define JWT_HEADER_HS256 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

PG_FUNCTION_INFO_V1(nmc_jwt_sign);
PG_FUNCTION_INFO_V1(nmc_jwt_verify);

static void
hs256(const char *key, int keylen, const char *data, int datalen,
	  unsigned char *mac)
{
	if (keylen <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("JWT secret must not be empty")));
	if (!jwt_hs256(key, (size_t) keylen, data, (size_t) datalen, mac))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("HMAC-SHA256 computation failed")));
}

static void
refuse(int sqlstate, const char *code, const char *message)
{
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("%s: %s", code, message),
			 errhint("Log in again to get a new token.")));
}

/* Parses text as a JSON object without throwing on bad input; NULL if it is not one. */
static Jsonb *
parse_json_object(unsigned char *text, int len)
{
	JsonLexContext *lex;
	Jsonb	   *jb;

	if (pg_verifymbstr((const char *) text, len, true) == false)
		return NULL;
	lex = makeJsonLexContextCstringLen((char *) text, len, PG_UTF8, false);
	if (pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS)
		return NULL;
	jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum((char *) text)));
	if (!JB_ROOT_IS_OBJECT(jb))
		return NULL;
	return jb;
}

static JsonbValue *
object_key(Jsonb *jb, const char *key)
{
	return getKeyJsonValueFromContainer(&jb->root, key, strlen(key), NULL);
}

Datum
nmc_jwt_sign(PG_FUNCTION_ARGS)
{
	Jsonb	   *claims = PG_GETARG_JSONB_P(0);
	text	   *secret = PG_GETARG_TEXT_PP(1);
	char	   *payload_json;
	char	   *header_b64;
	char	   *payload_b64;
	StringInfoData signing_input;
	unsigned char mac[HS256_MAC_LEN];

	if (!JB_ROOT_IS_OBJECT(claims))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("JWT claims must be a JSON object")));

	payload_json = JsonbToCString(NULL, &claims->root, VARSIZE(claims));
	header_b64 = base64url_encode((const unsigned char *) JWT_HEADER_HS256,
								  strlen(JWT_HEADER_HS256));
	payload_b64 = base64url_encode((const unsigned char *) payload_json,
								   strlen(payload_json));

	initStringInfo(&signing_input);
	appendStringInfo(&signing_input, "%s.%s", header_b64, payload_b64);
	hs256(VARDATA_ANY(secret), VARSIZE_ANY_EXHDR(secret),
		  signing_input.data, signing_input.len, mac);
	appendStringInfo(&signing_input, ".%s", base64url_encode(mac, HS256_MAC_LEN));

	PG_RETURN_TEXT_P(cstring_to_text_with_len(signing_input.data, signing_input.len));
}

/* A NumericDate claim in seconds, or -infinity when absent; a claim that is
 * present but not a number makes the token malformed. */
static double
claim_seconds(Jsonb *payload, const char *name)
{
	JsonbValue *v = object_key(payload, name);

	if (v == NULL)
		return -get_float8_infinity();
	if (v->type != jbvNumeric)
		refuse(ERRCODE_JWT_MALFORMED, "jwt_malformed", "a time claim of the token is not a number");
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

Datum
nmc_jwt_verify(PG_FUNCTION_ARGS)
{
	text	   *token_t = PG_GETARG_TEXT_PP(0);
	text	   *secret = PG_GETARG_TEXT_PP(1);
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(2);
	char	   *token = text_to_cstring(token_t);
	struct jwt_parts parts;
	unsigned char *header_json;
	unsigned char *payload_json;
	unsigned char *sig;
	int			header_len;
	int			payload_len;
	int			sig_len;
	Jsonb	   *header;
	Jsonb	   *payload;
	JsonbValue *alg;
	JsonbValue *exp;
	unsigned char mac[HS256_MAC_LEN];
	double		exp_seconds;
	double		now_seconds;

	if (!jwt_split(token, strlen(token), &parts))
		refuse(ERRCODE_JWT_MALFORMED, "jwt_malformed",
			   "a token has three dot-separated parts");

	header_json = base64url_decode(parts.header, (int) parts.header_len, &header_len);
	if (header_json == NULL ||
		(header = parse_json_object(header_json, header_len)) == NULL)
		refuse(ERRCODE_JWT_MALFORMED, "jwt_malformed",
			   "the token header is not base64url-encoded JSON");

	alg = object_key(header, "alg");
	if (alg == NULL || alg->type != jbvString)
		refuse(ERRCODE_JWT_MALFORMED, "jwt_malformed", "the token header has no alg");
	if (alg->val.string.len == 4 &&
		pg_strncasecmp(alg->val.string.val, "none", 4) == 0)
		refuse(ERRCODE_JWT_ALG_NONE, "jwt_alg_none", "unsigned tokens are not accepted");
	if (alg->val.string.len != 5 || memcmp(alg->val.string.val, "HS256", 5) != 0)
		refuse(ERRCODE_JWT_ALG_NOT_ALLOWED, "jwt_alg_not_allowed",
			   "only HS256 tokens are accepted");

	sig = base64url_decode(parts.signature, (int) parts.signature_len, &sig_len);
	if (sig == NULL)
		refuse(ERRCODE_JWT_MALFORMED, "jwt_malformed",
			   "the token signature is not base64url");
	hs256(VARDATA_ANY(secret), VARSIZE_ANY_EXHDR(secret), token, (int) parts.signing_input_len, mac);
	if (!jwt_signature_matches(sig, (size_t) sig_len, mac))
		refuse(ERRCODE_JWT_BAD_SIGNATURE, "jwt_bad_signature",
			   "the token signature does not match");

	payload_json = base64url_decode(parts.payload, (int) parts.payload_len, &payload_len);
	if (payload_json == NULL ||
		(payload = parse_json_object(payload_json, payload_len)) == NULL)
		refuse(ERRCODE_JWT_MALFORMED, "jwt_malformed",
			   "the token payload is not base64url-encoded JSON");

	exp = object_key(payload, "exp");
	if (exp == NULL || exp->type != jbvNumeric)
		refuse(ERRCODE_JWT_MALFORMED, "jwt_malformed", "the token has no numeric exp claim");
	exp_seconds = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
													 NumericGetDatum(exp->val.numeric)));
	now_seconds = (double) at / USECS_PER_SEC +
		(double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
	if (exp_seconds <= now_seconds)
		refuse(ERRCODE_JWT_EXPIRED, "jwt_expired", "the token has expired");
	if (claim_seconds(payload, "nbf") > now_seconds)
		refuse(ERRCODE_JWT_NOT_YET_VALID, "jwt_not_yet_valid", "the token is not valid yet (nbf)");
	if (claim_seconds(payload, "iat") > now_seconds + JWT_IAT_LEEWAY_SECONDS)
		refuse(ERRCODE_JWT_NOT_YET_VALID, "jwt_not_yet_valid", "the token claims to be issued in the future (iat)");

	PG_RETURN_JSONB_P(payload);
}
