/* `make check`: the push fake's cryptography against RFC 8291 Appendix A
 * (every intermediate value, the message byte for byte both ways), round
 * trips with fresh keys, and the VAPID checks against JWTs signed here.
 * Prints TAP-style ok / not ok lines; exits 1 if any check fails. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64url.h"
#include "push_crypto.h"
#include "vapid.h"

/* RFC 8291 Appendix A, line breaks removed. */
static const char *const V_PLAINTEXT = "When I grow up, I want to be a watermelon";
static const char *const V_AS_PRIV = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
static const char *const V_AS_PUB =
	"BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
static const char *const V_UA_PRIV = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
static const char *const V_UA_PUB =
	"BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
static const char *const V_AUTH = "BTBZMqHH6r4Tts7J_aSIgg";
static const char *const V_SALT = "DGv6ra1nlYgDCS1FRnbzlw";
static const char *const V_ECDH = "kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs";
static const char *const V_PRK_KEY = "Snr3JMxaHVDXHWJn5wdC52WjpCtd2EIEGBykDcZW32k";
static const char *const V_IKM = "S4lYMb_L0FxCeq0WhDx813KgSYqU26kOyzWUdsXYyrg";
static const char *const V_PRK = "09_eUZGrsvxChDCGRCdkLiDXrReGOEVeSCdCcPBSJSc";
static const char *const V_CEK = "oIhVW04MRdy2XN9CiKLxTg";
static const char *const V_NONCE = "4h_95klXJ5E_qnoN";
static const char *const V_BODY =
	"DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLoc"
	"InmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLV"
	"WGNWQexSgSxsj_Qulcy4a-fN";

static int tests, failures;

static void check(bool ok, const char *what)
{
	printf("%s %d - %s\n", ok ? "ok" : "not ok", ++tests, what);
	if (!ok)
		failures++;
}

/* Decodes a vector value that must be exactly n bytes; exits if not, since
 * nothing after it could mean anything. */
static void dec(const char *s, uint8_t *out, size_t n)
{
	if (b64url_decode(s, strlen(s), out, n) != (long)n) {
		printf("not ok - vector value %s is not %zu bytes of base64url\n", s, n);
		exit(1);
	}
}

static bool equals_b64(const uint8_t *got, size_t n, const char *want)
{
	char text[256];

	b64url_encode(got, n, text);
	return strcmp(text, want) == 0;
}

struct vector {
	uint8_t as_priv[32], as_pub[65], ua_priv[32], ua_pub[65], auth[16], salt[16];
	EVP_PKEY *as, *ua;
};

static void rfc8291_vector(struct vector *v)
{
	uint8_t secret[32], body[256], *out = NULL;
	size_t out_len = 0;
	long body_len = b64url_decode(V_BODY, strlen(V_BODY), body, sizeof(body));
	struct push_keys k;
	const char *err = NULL;
	EVP_PKEY *wrong;

	check(body_len == 144,
	      "vector body decodes to 144 bytes (86 header + 41 text + delimiter + 16 tag)");
	v->ua = push_key_private(v->ua_priv, v->ua_pub);
	v->as = push_key_private(v->as_priv, v->as_pub);
	check(v->ua != NULL, "ua_private and ua_public form a P-256 key pair");
	check(v->as != NULL, "as_private and as_public form a P-256 key pair");
	wrong = push_key_private(v->ua_priv, v->as_pub);
	check(wrong == NULL, "a private key with another key's public point is refused");
	EVP_PKEY_free(wrong);
	if (!v->ua || !v->as)
		return;

	check(push_ecdh(v->ua, v->as_pub, secret) == 0 && equals_b64(secret, 32, V_ECDH),
	      "ECDH(ua_private, as_public) = ecdh_secret");
	check(push_ecdh(v->as, v->ua_pub, secret) == 0 && equals_b64(secret, 32, V_ECDH),
	      "ECDH(as_private, ua_public) = ecdh_secret");
	check(push_derive(secret, v->auth, v->ua_pub, v->as_pub, v->salt, &k) == 0,
	      "key derivation runs");
	check(equals_b64(k.prk_key, 32, V_PRK_KEY), "PRK_key");
	check(equals_b64(k.ikm, 32, V_IKM), "IKM");
	check(equals_b64(k.prk, 32, V_PRK), "PRK");
	check(equals_b64(k.cek, 16, V_CEK), "CEK");
	check(equals_b64(k.nonce, 12, V_NONCE), "NONCE");

	check(body_len == 144 && push_decrypt(v->ua, v->ua_pub, v->auth, body, 144, &out,
					      &out_len, &err) == 0 &&
	      out_len == strlen(V_PLAINTEXT) && memcmp(out, V_PLAINTEXT, out_len) == 0,
	      "decrypting the vector's message gives the plaintext");
	free(out);
	out = NULL;
	check(push_encrypt(v->as, v->as_pub, v->ua_pub, v->auth, v->salt, 4096,
			   (const uint8_t *)V_PLAINTEXT, strlen(V_PLAINTEXT), 0, &out,
			   &out_len) == 0 &&
	      out_len == 144 && memcmp(out, body, 144) == 0,
	      "encrypting the plaintext with the vector's keys and salt gives the message byte for byte");
	free(out);
}

static bool decrypts_to(EVP_PKEY *ua, const uint8_t *ua_pub, const uint8_t *auth,
			const uint8_t *body, size_t len, const char *want, const char **err)
{
	uint8_t *out = NULL;
	size_t n = 0;
	bool ok = push_decrypt(ua, ua_pub, auth, body, len, &out, &n, err) == 0 &&
		  n == strlen(want) && memcmp(out, want, n) == 0;

	free(out);
	return ok;
}

/* An aes128gcm body around record bytes taken as they are (push_encrypt
 * always adds the delimiter), to check the decryptor refuses bad padding. */
static bool seal_raw(EVP_PKEY *as, const uint8_t as_pub[65], const uint8_t ua_pub[65],
		     const uint8_t auth[16], const uint8_t salt[16], const char *record,
		     size_t n, uint8_t **body, size_t *len)
{
	static const uint8_t rs_id[5] = { 0, 0, 0x10, 0, 65 };
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t secret[32], *out = malloc(86 + n + 16);
	struct push_keys k;
	int m = 0, f = 0;
	bool ok = c && out && push_ecdh(as, ua_pub, secret) == 0 &&
		  push_derive(secret, auth, ua_pub, as_pub, salt, &k) == 0 &&
		  EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, k.cek, k.nonce) == 1 &&
		  EVP_EncryptUpdate(c, out + 86, &m, (const uint8_t *)record, (int)n) == 1 &&
		  EVP_EncryptFinal_ex(c, out + 86 + m, &f) == 1 &&
		  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + 86 + n) == 1;

	EVP_CIPHER_CTX_free(c);
	if (!ok) {
		free(out);
		return false;
	}
	memcpy(out, salt, 16);
	memcpy(out + 16, rs_id, 5);
	memcpy(out + 21, as_pub, 65);
	*body = out;
	*len = 86 + n + 16;
	return true;
}

static void round_trips(const struct vector *v)
{
	static const char text[] = "{\"title\":\"Missed call\",\"body\":\"+1 555 0100\"}";
	uint8_t ua_pub[65], as_pub[65], auth[16] = "0123456789abcdef", *body = NULL;
	EVP_PKEY *ua = push_key_generate(ua_pub), *as = push_key_generate(as_pub);
	size_t len = 0;
	const char *err = NULL;

	check(ua && as, "fresh P-256 keys generate");
	if (!ua || !as)
		goto done;
	check(push_encrypt(as, as_pub, ua_pub, auth, v->salt, 4096, (const uint8_t *)text,
			   strlen(text), 100, &body, &len) == 0 &&
	      decrypts_to(ua, ua_pub, auth, body, len, text, &err),
	      "fresh keys with 100 bytes of padding round-trip");
	if (!body)
		goto done;
	body[len - 20] ^= 1;
	check(!decrypts_to(ua, ua_pub, auth, body, len, text, &err) &&
	      strstr(err, "authentication failed"), "a flipped ciphertext bit is refused");
	body[len - 20] ^= 1;
	auth[0] ^= 1;
	check(!decrypts_to(ua, ua_pub, auth, body, len, text, &err),
	      "the wrong auth secret is refused");
	auth[0] ^= 1;
	body[18] = 0;
	body[19] = 50; /* rs 4096 -> 50: the body no longer fits one record */
	check(!decrypts_to(ua, ua_pub, auth, body, len, text, &err) && strstr(err, "one record"),
	      "a body longer than rs (more than one record) is refused");
	body[18] = 0x10;
	body[19] = 0;
	body[20] = 64;
	check(!decrypts_to(ua, ua_pub, auth, body, len, text, &err) && strstr(err, "keyid"),
	      "an idlen other than 65 is refused");
	free(body);
	body = NULL;
	check(seal_raw(as, as_pub, ua_pub, auth, v->salt, "no delimiter\0\0", 14, &body, &len) &&
	      !decrypts_to(ua, ua_pub, auth, body, len, "no delimiter", &err) &&
	      strstr(err, "0x02"), "a record without the 0x02 delimiter is refused");
	free(body);
	body = NULL;
	check(push_encrypt(as, as_pub, ua_pub, auth, v->salt, 4096, (const uint8_t *)"", 0, 0,
			   &body, &len) == 0 &&
	      decrypts_to(ua, ua_pub, auth, body, len, "", &err),
	      "an empty payload round-trips");
done:
	free(body);
	EVP_PKEY_free(ua);
	EVP_PKEY_free(as);
}

/* ---- VAPID ---- */

static void b64_text(const char *s, char *out)
{
	b64url_encode((const uint8_t *)s, strlen(s), out);
}

/* "vapid t=<jwt>, k=<key>" (or k first) signed by key. */
static void vapid_header(EVP_PKEY *key, const uint8_t pub[65], const char *jws_header,
			 const char *claims, bool k_first, char *out, size_t cap)
{
	char jwt[1024], k[100], sig_text[100];
	uint8_t sig[64];
	size_t n;

	b64_text(jws_header, jwt);
	n = strlen(jwt);
	jwt[n++] = '.';
	b64_text(claims, jwt + n);
	push_es256_sign(key, jwt, strlen(jwt), sig);
	b64url_encode(sig, 64, sig_text);
	b64url_encode(pub, 65, k);
	if (k_first)
		snprintf(out, cap, "vapid k=%s,t=%s.%s", k, jwt, sig_text);
	else
		snprintf(out, cap, "vapid t=%s.%s, k=%s", jwt, sig_text, k);
}

static unsigned try_vapid(EVP_PKEY *key, const uint8_t pub[65], const char *jws_header,
			  long exp_in, const char *aud, const char *sub, bool k_first,
			  char *err, size_t errlen)
{
	static const char origin[] = "http://127.0.0.1:18999";
	char claims[512], header[2048];
	struct vapid_claims c;
	time_t now = time(NULL);
	unsigned status;

	snprintf(claims, sizeof(claims), "{\"aud\":\"%s\",\"exp\":%lld,\"sub\":\"%s\"}", aud,
		 (long long)now + exp_in, sub);
	vapid_header(key, pub, jws_header, claims, k_first, header, sizeof(header));
	status = vapid_check(header, origin, now, &c, err, errlen);
	vapid_claims_free(&c);
	return status;
}

static void vapid_checks(void)
{
	static const char jh[] = "{\"typ\":\"JWT\",\"alg\":\"ES256\"}";
	static const char aud[] = "http://127.0.0.1:18999";
	uint8_t pub[65], other_pub[65];
	EVP_PKEY *key = push_key_generate(pub), *other = push_key_generate(other_pub);
	struct vapid_claims c;
	char err[256], header[2048];

	if (!key || !other) {
		check(false, "VAPID keys generate");
		goto done;
	}
	check(try_vapid(key, pub, jh, 3600, aud, "mailto:ops@example.com", false, err,
			sizeof(err)) == 0, "a valid VAPID header is accepted");
	check(try_vapid(key, pub, jh, 86400, aud, "https://example.com/contact", true, err,
			sizeof(err)) == 0, "k before t, https: sub and exp 24 h ahead are accepted");
	check(try_vapid(key, pub, jh, 3600, "http:\\/\\/127.0.0.1:18999",
			"mailto:ops\\u0040example.com", false, err, sizeof(err)) == 0,
	      "JSON escapes in claims (\\/, \\u0040) are decoded before comparing");
	check(try_vapid(key, pub, jh, 3600, "http://127.0.0.1:18999/push/x", "mailto:a@b", false,
			err, sizeof(err)) == 403 && strstr(err, "aud"),
	      "an aud with a path is refused");
	check(try_vapid(key, pub, jh, -1, aud, "mailto:a@b", false, err, sizeof(err)) == 403 &&
	      strstr(err, "expired"), "an expired JWT is refused");
	check(try_vapid(key, pub, jh, 86400 + 60, aud, "mailto:a@b", false, err, sizeof(err)) ==
	      403 && strstr(err, "24 hours"), "an exp more than 24 h ahead is refused");
	check(try_vapid(key, pub, jh, 3600, aud, "ops@example.com", false, err, sizeof(err)) ==
	      403 && strstr(err, "sub"), "a sub that is not mailto: or https: is refused");
	check(try_vapid(key, pub, "{\"typ\":\"JWT\",\"alg\":\"HS256\"}", 3600, aud,
			"mailto:a@b", false, err, sizeof(err)) == 403 && strstr(err, "ES256"),
	      "alg other than ES256 is refused");
	check(try_vapid(key, other_pub, jh, 3600, aud, "mailto:a@b", false, err, sizeof(err)) ==
	      403 && strstr(err, "signature"), "a signature by another key than k is refused");
	check(vapid_check(NULL, aud, time(NULL), &c, err, sizeof(err)) == 401,
	      "no Authorization header is 401");
	vapid_claims_free(&c);
	check(vapid_check("WebPush eyJ0eXAiOiJKV1QifQ.e30.AA", aud, time(NULL), &c, err,
			  sizeof(err)) == 403, "another scheme is 403");
	vapid_claims_free(&c);
	snprintf(header, sizeof(header), "vapid t=a.b.c");
	check(vapid_check(header, aud, time(NULL), &c, err, sizeof(err)) == 403 &&
	      strstr(err, "t=") != NULL, "a header without k is refused");
	vapid_claims_free(&c);
done:
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

int main(void)
{
	struct vector v;

	memset(&v, 0, sizeof(v));
	dec(V_AS_PRIV, v.as_priv, 32);
	dec(V_AS_PUB, v.as_pub, 65);
	dec(V_UA_PRIV, v.ua_priv, 32);
	dec(V_UA_PUB, v.ua_pub, 65);
	dec(V_AUTH, v.auth, 16);
	dec(V_SALT, v.salt, 16);
	rfc8291_vector(&v);
	round_trips(&v);
	vapid_checks();
	EVP_PKEY_free(v.ua);
	EVP_PKEY_free(v.as);
	printf("1..%d\n", tests);
	if (failures)
		printf("# %d of %d checks failed\n", failures, tests);
	return failures ? 1 : 0;
}
