/* RFC 8292 checks in the order a push service needs them: header syntax,
 * the JWS header, the key, the ES256 signature, then the claims (aud is the
 * push resource's origin, exp within 24 hours, sub a contact URI). */
#include "vapid.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64url.h"
#include "json_scan.h"
#include "push_crypto.h"

#define MAX_EXP_AHEAD (24 * 60 * 60)

struct slice {
	const char *p;
	size_t n;
};

static unsigned fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static unsigned fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return 403;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* auth-params after the scheme: t and k in any order, separated by commas
 * with optional spaces, values optionally quoted. */
static bool parse_params(const char *s, struct slice *t, struct slice *k)
{
	t->p = k->p = NULL;
	while (*s) {
		const char *name, *val;
		size_t nlen, vlen;
		struct slice *dst;

		while (is_space(*s) || *s == ',')
			s++;
		if (!*s)
			break;
		name = s;
		while (*s && *s != '=' && !is_space(*s) && *s != ',')
			s++;
		nlen = (size_t)(s - name);
		while (is_space(*s))
			s++;
		if (*s != '=')
			return false;
		s++;
		while (is_space(*s))
			s++;
		if (*s == '"') {
			val = ++s;
			while (*s && *s != '"')
				s++;
			if (*s != '"')
				return false;
			vlen = (size_t)(s++ - val);
		} else {
			val = s;
			while (*s && *s != ',' && !is_space(*s))
				s++;
			vlen = (size_t)(s - val);
		}
		dst = nlen == 1 && *name == 't' ? t : nlen == 1 && *name == 'k' ? k : NULL;
		if (dst) {
			if (dst->p || !vlen)
				return false;
			dst->p = val;
			dst->n = vlen;
		}
	}
	return t->p && k->p;
}

/* Decodes one base64url JWT part that must be a JSON object. */
static char *json_part(const char *p, size_t n, size_t *len)
{
	char *doc = (char *)b64url_decode_dup(p, n, len);

	if (doc && (!json_valid(doc, *len) || *json_skip_ws(doc, doc + *len) != '{')) {
		free(doc);
		doc = NULL;
	}
	return doc;
}

static char *member_string(const char *doc, size_t len, const char *key)
{
	const char *v, *start = json_skip_ws(doc, doc + len);
	size_t vlen;

	return json_member(start, doc + len, key, &v, &vlen) ? json_string_dup(v, vlen) : NULL;
}

static bool member_number(const char *doc, size_t len, const char *key, double *out)
{
	const char *v, *start = json_skip_ws(doc, doc + len);
	size_t vlen;
	char buf[64];

	if (!json_member(start, doc + len, key, &v, &vlen) || vlen >= sizeof(buf) ||
	    !(*v == '-' || (*v >= '0' && *v <= '9')))
		return false;
	memcpy(buf, v, vlen);
	buf[vlen] = '\0';
	*out = strtod(buf, NULL);
	return isfinite(*out);
}

static unsigned check_header(const char *p, size_t n, char *err, size_t errlen)
{
	size_t len;
	char *doc = json_part(p, n, &len), *alg, *typ;
	unsigned status = 0;

	if (!doc)
		return fail(err, errlen, "JWT header is not base64url of a JSON object");
	alg = member_string(doc, len, "alg");
	typ = member_string(doc, len, "typ");
	if (!alg || strcmp(alg, "ES256") != 0)
		status = fail(err, errlen, "JWT alg must be ES256 (RFC 8292 §2), got %s",
			      alg ? alg : "none");
	else if (typ && strcasecmp(typ, "JWT") != 0)
		status = fail(err, errlen, "JWT typ must be JWT, got %s", typ);
	free(alg);
	free(typ);
	free(doc);
	return status;
}

static unsigned check_claims(const char *doc, size_t len, const char *aud, time_t now,
			     const struct vapid_claims *c, char *err, size_t errlen)
{
	double exp;

	if (!c->aud)
		return fail(err, errlen, "JWT claims have no aud string");
	if (strcmp(c->aud, aud) != 0)
		return fail(err, errlen, "JWT aud '%s' is not the push resource's origin '%s'",
			    c->aud, aud);
	if (!member_number(doc, len, "exp", &exp))
		return fail(err, errlen, "JWT claims have no numeric exp");
	if (exp <= (double)now)
		return fail(err, errlen, "JWT expired: exp %.0f is not after now (%lld)", exp,
			    (long long)now);
	if (exp > (double)now + MAX_EXP_AHEAD)
		return fail(err, errlen,
			    "JWT exp %.0f is more than 24 hours after now (%lld) (RFC 8292 §2)",
			    exp, (long long)now);
	if (!c->sub)
		return fail(err, errlen, "JWT claims have no sub string");
	if (strncmp(c->sub, "mailto:", 7) != 0 && strncmp(c->sub, "https:", 6) != 0)
		return fail(err, errlen, "JWT sub '%s' is neither a mailto: nor an https: URI",
			    c->sub);
	return 0;
}

static unsigned check_signature(struct slice t, size_t signed_len, const char *sig_p,
				struct slice k, char *err, size_t errlen)
{
	uint8_t pub[PUSH_PUB_LEN + 1], sig[PUSH_SIG_LEN + 1];
	EVP_PKEY *key;
	int ok;

	if (b64url_decode(k.p, k.n, pub, sizeof(pub)) != PUSH_PUB_LEN || pub[0] != 0x04)
		return fail(err, errlen,
			    "k must be base64url of a 65-byte uncompressed P-256 public key");
	if (!(key = push_key_public(pub)))
		return fail(err, errlen, "k is not a point on P-256");
	if (b64url_decode(sig_p, (size_t)(t.p + t.n - sig_p), sig, sizeof(sig)) != PUSH_SIG_LEN) {
		EVP_PKEY_free(key);
		return fail(err, errlen, "JWT signature must be base64url of 64 bytes (r || s)");
	}
	ok = push_es256_verify(key, t.p, signed_len, sig);
	EVP_PKEY_free(key);
	return ok ? 0 : fail(err, errlen, "JWT signature does not verify with k");
}

unsigned vapid_check(const char *authorization, const char *aud, time_t now,
		     struct vapid_claims *claims, char *err, size_t errlen)
{
	struct slice t, k;
	const char *dot1, *dot2, *end;
	char *doc = NULL;
	size_t len = 0;
	unsigned status;

	claims->sub = claims->aud = NULL;
	if (!authorization) {
		snprintf(err, errlen, "no Authorization header (RFC 8292 VAPID required)");
		return 401;
	}
	if (strncasecmp(authorization, "vapid", 5) != 0 || !is_space(authorization[5]))
		return fail(err, errlen, "Authorization scheme must be vapid (RFC 8292 §3)");
	if (!parse_params(authorization + 6, &t, &k))
		return fail(err, errlen,
			    "Authorization must carry t=<JWT> and k=<public key> once each");
	end = t.p + t.n;
	dot1 = memchr(t.p, '.', t.n);
	dot2 = dot1 ? memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1)) : NULL;
	if (!dot2 || memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)))
		return fail(err, errlen, "t is not a JWS compact serialisation (three parts)");
	/* Claims are read first so a refused request still shows who sent it. */
	doc = json_part(dot1 + 1, (size_t)(dot2 - dot1 - 1), &len);
	if (doc) {
		claims->sub = member_string(doc, len, "sub");
		claims->aud = member_string(doc, len, "aud");
	}
	status = check_header(t.p, (size_t)(dot1 - t.p), err, errlen);
	if (!status)
		status = check_signature(t, (size_t)(dot2 - t.p), dot2 + 1, k, err, errlen);
	if (!status && !doc)
		status = fail(err, errlen, "JWT claims are not base64url of a JSON object");
	if (!status)
		status = check_claims(doc, len, aud, now, claims, err, errlen);
	free(doc);
	return status;
}

void vapid_claims_free(struct vapid_claims *claims)
{
	free(claims->sub);
	free(claims->aud);
	claims->sub = claims->aud = NULL;
}
