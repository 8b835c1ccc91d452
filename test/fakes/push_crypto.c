/* Web Push cryptography with OpenSSL 3 EVP and provider APIs only: raw
 * keys go through EVP_PKEY_fromdata, ECDH through EVP_PKEY_derive, ES256
 * through EVP_DigestSign/Verify with a DER <-> r||s conversion, and the
 * record through EVP aes-128-gcm. HMAC-SHA-256 is the one-shot HMAC(). */
#include "push_crypto.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_LEN (PUSH_SALT_LEN + 4 + 1 + PUSH_PUB_LEN) /* 86 */
#define TAG_LEN 16

/* ---- keys ---- */

static bool key_ok(EVP_PKEY *pkey, bool pair)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	bool ok = c && (pair ? EVP_PKEY_pairwise_check(c) : EVP_PKEY_public_check(c)) == 1;

	EVP_PKEY_CTX_free(c);
	return ok;
}

static EVP_PKEY *key_from_raw(const uint8_t *priv, const uint8_t pub[PUSH_PUB_LEN])
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *d = NULL;

	if (!bld || pub[0] != 0x04 ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, PUSH_PUB_LEN))
		goto done;
	if (priv && (!(d = BN_bin2bn(priv, PUSH_PRIV_LEN, NULL)) ||
		     !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d)))
		goto done;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
			      params) <= 0)
		goto done;
	if (!key_ok(pkey, priv != NULL)) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
done:
	BN_clear_free(d);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

EVP_PKEY *push_key_public(const uint8_t pub[PUSH_PUB_LEN])
{
	return key_from_raw(NULL, pub);
}

EVP_PKEY *push_key_private(const uint8_t priv[PUSH_PRIV_LEN], const uint8_t pub[PUSH_PUB_LEN])
{
	return key_from_raw(priv, pub);
}

EVP_PKEY *push_key_generate(uint8_t pub[PUSH_PUB_LEN])
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	size_t n = 0;

	if (pkey && (!EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pub,
						      PUSH_PUB_LEN, &n) ||
		     n != PUSH_PUB_LEN || pub[0] != 0x04)) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	return pkey;
}

/* ---- ES256 ---- */

int push_es256_sign(EVP_PKEY *key, const void *msg, size_t len, uint8_t sig[PUSH_SIG_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[80]; /* a P-256 DER signature is at most 72 bytes */
	const unsigned char *p = der;
	size_t der_len = sizeof(der);
	ECDSA_SIG *es = NULL;
	const BIGNUM *r, *s;
	int ok = -1;

	if (md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestSign(md, der, &der_len, msg, len) == 1 &&
	    (es = d2i_ECDSA_SIG(NULL, &p, (long)der_len))) {
		ECDSA_SIG_get0(es, &r, &s);
		if (BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(s, sig + 32, 32) == 32)
			ok = 0;
	}
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	return ok;
}

int push_es256_verify(EVP_PKEY *pub, const void *msg, size_t len, const uint8_t sig[PUSH_SIG_LEN])
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	int der_len, ok = 0;

	if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
	} else if ((der_len = i2d_ECDSA_SIG(es, &der)) > 0 && md &&
		   EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1) {
		ok = EVP_DigestVerify(md, der, (size_t)der_len, msg, len) == 1;
	}
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	ECDSA_SIG_free(es); /* frees r and s once set0 took them */
	return ok;
}

/* ---- RFC 8291 key derivation ---- */

int push_ecdh(EVP_PKEY *own, const uint8_t peer_pub[PUSH_PUB_LEN], uint8_t secret[32])
{
	EVP_PKEY *peer = push_key_public(peer_pub);
	EVP_PKEY_CTX *ctx = peer ? EVP_PKEY_CTX_new_from_pkey(NULL, own, NULL) : NULL;
	size_t n = 32;
	int ok = ctx && EVP_PKEY_derive_init(ctx) == 1 &&
		 EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
		 EVP_PKEY_derive(ctx, secret, &n) == 1 && n == 32;

	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	return ok ? 0 : -1;
}

/* HMAC-SHA-256(key, a || b); every input here is a few hundred bytes. */
static int hmac(const uint8_t *key, size_t klen, const void *a, size_t alen,
		const void *b, size_t blen, uint8_t out[32])
{
	uint8_t data[256];
	unsigned int n = 0;

	if (alen + blen > sizeof(data))
		return -1;
	memcpy(data, a, alen);
	if (blen)
		memcpy(data + alen, b, blen);
	if (!HMAC(EVP_sha256(), key, (int)klen, data, alen + blen, out, &n) || n != 32)
		return -1;
	return 0;
}

int push_derive(const uint8_t ecdh_secret[32], const uint8_t auth[PUSH_AUTH_LEN],
		const uint8_t ua_pub[PUSH_PUB_LEN], const uint8_t as_pub[PUSH_PUB_LEN],
		const uint8_t salt[PUSH_SALT_LEN], struct push_keys *out)
{
	static const char info[] = "WebPush: info"; /* sizeof counts the 0x00 */
	static const char cek_info[] = "Content-Encoding: aes128gcm\0\1";
	static const char nonce_info[] = "Content-Encoding: nonce\0\1";
	uint8_t key_info[sizeof(info) + 2 * PUSH_PUB_LEN + 1], t[32];
	size_t n = 0;

	memcpy(key_info, info, sizeof(info));
	n += sizeof(info);
	memcpy(key_info + n, ua_pub, PUSH_PUB_LEN);
	n += PUSH_PUB_LEN;
	memcpy(key_info + n, as_pub, PUSH_PUB_LEN);
	n += PUSH_PUB_LEN;
	key_info[n++] = 0x01;
	/* HKDF-Extract then a one-block HKDF-Expand, twice (RFC 8291 §3.3,
	 * RFC 8188 §2.2); the 0x01 bytes are the Expand counters. */
	if (hmac(auth, PUSH_AUTH_LEN, ecdh_secret, 32, NULL, 0, out->prk_key) ||
	    hmac(out->prk_key, 32, key_info, n, NULL, 0, out->ikm) ||
	    hmac(salt, PUSH_SALT_LEN, out->ikm, 32, NULL, 0, out->prk) ||
	    hmac(out->prk, 32, cek_info, sizeof(cek_info) - 1, NULL, 0, t))
		return -1;
	memcpy(out->cek, t, sizeof(out->cek));
	if (hmac(out->prk, 32, nonce_info, sizeof(nonce_info) - 1, NULL, 0, t))
		return -1;
	memcpy(out->nonce, t, sizeof(out->nonce));
	return 0;
}

/* ---- the aes128gcm record ---- */

static int gcm(bool enc, const struct push_keys *k, const uint8_t *in, size_t len,
	       uint8_t *out, uint8_t tag[TAG_LEN])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, m = 0, ok;

	ok = c && EVP_CipherInit_ex(c, EVP_aes_128_gcm(), NULL, NULL, NULL, enc) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, (int)sizeof(k->nonce), NULL) == 1 &&
	     EVP_CipherInit_ex(c, NULL, NULL, k->cek, k->nonce, enc) == 1 &&
	     (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1) &&
	     EVP_CipherUpdate(c, out, &n, in, (int)len) == 1 &&
	     EVP_CipherFinal_ex(c, out + n, &m) == 1 && (size_t)(n + m) == len &&
	     (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1);
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int push_decrypt(EVP_PKEY *ua, const uint8_t ua_pub[PUSH_PUB_LEN],
		 const uint8_t auth[PUSH_AUTH_LEN], const uint8_t *body, size_t len,
		 uint8_t **plain, size_t *plain_len, const char **err)
{
	const uint8_t *salt = body, *as_pub = body + 21, *ct = body + HEADER_LEN;
	uint8_t secret[32], tag[TAG_LEN], *out;
	struct push_keys k;
	size_t ct_len, n;

	*plain = NULL;
	if (len < 21) {
		*err = "body shorter than the 21-byte aes128gcm header (RFC 8188 §2.1)";
		return -1;
	}
	if (body[20] != PUSH_PUB_LEN) {
		*err = "keyid must be the 65-byte application server public key (RFC 8291 §4)";
		return -1;
	}
	if (len < HEADER_LEN) {
		*err = "body ends inside the aes128gcm header's keyid";
		return -1;
	}
	ct_len = len - HEADER_LEN;
	if (be32(body + 16) < 18) {
		*err = "record size rs below 18 (RFC 8188 §2.1)";
		return -1;
	}
	if (ct_len < TAG_LEN + 1) {
		*err = "record shorter than the 16-byte tag and the padding delimiter";
		return -1;
	}
	if (ct_len > be32(body + 16)) {
		*err = "body holds more than one record (RFC 8291 §4: one record only)";
		return -1;
	}
	if (push_ecdh(ua, as_pub, secret)) {
		*err = "keyid is not an uncompressed P-256 public key";
		return -1;
	}
	if (push_derive(secret, auth, ua_pub, as_pub, salt, &k)) {
		*err = "key derivation failed";
		return -1;
	}
	n = ct_len - TAG_LEN;
	out = malloc(n + 1);
	if (!out) {
		*err = "out of memory";
		return -1;
	}
	memcpy(tag, ct + n, TAG_LEN);
	if (gcm(false, &k, ct, n, out, tag)) {
		free(out);
		*err = "AES-128-GCM authentication failed: wrong keys, auth secret or salt, or a corrupted body";
		return -1;
	}
	while (n > 0 && out[n - 1] == 0x00)
		n--;
	if (n == 0 || out[n - 1] != 0x02) {
		*err = n && out[n - 1] == 0x01
		       ? "padding delimiter 0x01 marks a record that is not the last"
		       : "plaintext has no 0x02 padding delimiter (RFC 8188 §2)";
		free(out);
		return -1;
	}
	out[--n] = '\0';
	*plain = out;
	*plain_len = n;
	return 0;
}

int push_encrypt(EVP_PKEY *as, const uint8_t as_pub[PUSH_PUB_LEN],
		 const uint8_t ua_pub[PUSH_PUB_LEN], const uint8_t auth[PUSH_AUTH_LEN],
		 const uint8_t salt[PUSH_SALT_LEN], uint32_t rs,
		 const uint8_t *plain, size_t plain_len, size_t pad,
		 uint8_t **body, size_t *body_len)
{
	size_t rec = plain_len + 1 + pad;
	uint8_t secret[32], *out, *record;
	struct push_keys k;

	if (rs < 18 || rec + TAG_LEN > rs || push_ecdh(as, ua_pub, secret) ||
	    push_derive(secret, auth, ua_pub, as_pub, salt, &k))
		return -1;
	out = malloc(HEADER_LEN + rec + TAG_LEN);
	record = malloc(rec);
	if (!out || !record) {
		free(out);
		free(record);
		return -1;
	}
	memcpy(out, salt, PUSH_SALT_LEN);
	out[16] = (uint8_t)(rs >> 24);
	out[17] = (uint8_t)(rs >> 16);
	out[18] = (uint8_t)(rs >> 8);
	out[19] = (uint8_t)rs;
	out[20] = PUSH_PUB_LEN;
	memcpy(out + 21, as_pub, PUSH_PUB_LEN);
	memcpy(record, plain, plain_len);
	record[plain_len] = 0x02;
	memset(record + plain_len + 1, 0, pad);
	if (gcm(true, &k, record, rec, out + HEADER_LEN, out + HEADER_LEN + rec)) {
		free(out);
		free(record);
		return -1;
	}
	free(record);
	*body = out;
	*body_len = HEADER_LEN + rec + TAG_LEN;
	return 0;
}
