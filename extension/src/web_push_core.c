/*
 * web_push_core.c — Web Push cryptography (see web_push_core.h), OpenSSL 3
 * EVP and EC_POINT calls only. RFC 8291 §3.4: ECDH between the sender's
 * ephemeral key and the subscription's key, HKDF-SHA-256 keyed with the
 * subscription's auth secret, then the content key and nonce of RFC 8188 and
 * one AES-128-GCM record whose plaintext ends with the 0x02 delimiter.
 */
#include "web_push_core.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#define SHA256_LEN 32

/* pub = priv × G on P-256, uncompressed; NULL if priv is no valid scalar. */
static const char *
public_from_private(const unsigned char priv[WEB_PUSH_PRIVATE_KEY_LEN], unsigned char pub[WEB_PUSH_PUBLIC_KEY_LEN])
{
	const char *err = "not a P-256 private key";
	EC_GROUP   *group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	EC_POINT   *point = group ? EC_POINT_new(group) : NULL;
	BIGNUM	   *d = BN_bin2bn(priv, WEB_PUSH_PRIVATE_KEY_LEN, NULL);

	if (group != NULL && point != NULL && d != NULL && !BN_is_zero(d) &&
		BN_cmp(d, EC_GROUP_get0_order(group)) < 0 &&
		EC_POINT_mul(group, point, d, NULL, NULL, NULL) == 1 &&
		EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, pub, WEB_PUSH_PUBLIC_KEY_LEN, NULL) == WEB_PUSH_PUBLIC_KEY_LEN)
		err = NULL;
	BN_clear_free(d);
	EC_POINT_free(point);
	EC_GROUP_free(group);
	return err;
}

/* An EVP key from a public point and, optionally, its private scalar. */
static EVP_PKEY *
make_key(const unsigned char *priv, const unsigned char pub[WEB_PUSH_PUBLIC_KEY_LEN])
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY   *key = NULL;
	BIGNUM	   *d = priv ? BN_bin2bn(priv, WEB_PUSH_PRIVATE_KEY_LEN, NULL) : NULL;

	if (bld == NULL || (priv != NULL && d == NULL) ||
		!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
		!OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, WEB_PUSH_PUBLIC_KEY_LEN) ||
		(d != NULL && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d)))
		goto done;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
		EVP_PKEY_fromdata(ctx, &key, d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1)
		key = NULL;
done:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	return key;
}

const char *
web_push_public_key(const unsigned char priv[WEB_PUSH_PRIVATE_KEY_LEN], unsigned char pub[WEB_PUSH_PUBLIC_KEY_LEN])
{
	return public_from_private(priv, pub);
}

const char *
web_push_generate_keys(unsigned char priv[WEB_PUSH_PRIVATE_KEY_LEN], unsigned char pub[WEB_PUSH_PUBLIC_KEY_LEN])
{
	/* A random 256-bit string is a valid scalar but for a chance of 2^-32. */
	for (int tries = 0; tries < 16; tries++)
	{
		if (RAND_bytes(priv, WEB_PUSH_PRIVATE_KEY_LEN) != 1)
			return "no randomness";
		if (public_from_private(priv, pub) == NULL)
			return NULL;
	}
	return "could not make a P-256 key";
}

/* HMAC-SHA-256(key, a || b || c); any part may be empty. */
static int
hmac3(const unsigned char *key, size_t key_len, const unsigned char *a, size_t a_len,
	  const unsigned char *b, size_t b_len, const unsigned char *c, size_t c_len, unsigned char out[SHA256_LEN])
{
	unsigned char buf[256];
	unsigned int out_len = 0;

	if (a_len + b_len + c_len > sizeof buf)
		return 0;
	if (a_len)
		memcpy(buf, a, a_len);
	if (b_len)
		memcpy(buf + a_len, b, b_len);
	if (c_len)
		memcpy(buf + a_len + b_len, c, c_len);
	return HMAC(EVP_sha256(), key, (int) key_len, buf, a_len + b_len + c_len, out, &out_len) != NULL && out_len == SHA256_LEN;
}

const char *
web_push_encrypt(const unsigned char *payload, size_t payload_len,
				 const unsigned char ua_public[WEB_PUSH_PUBLIC_KEY_LEN],
				 const unsigned char auth[WEB_PUSH_AUTH_LEN],
				 const unsigned char *as_private_in, const unsigned char *salt_in,
				 unsigned char *out, size_t out_cap, size_t *out_len)
{
	static const unsigned char one = 0x01;
	static const unsigned char key_label[] = "WebPush: info";		/* the NUL is the 0x00 after it */
	static const unsigned char cek_label[] = "Content-Encoding: aes128gcm";
	static const unsigned char nonce_label[] = "Content-Encoding: nonce";
	const char *err = NULL;
	unsigned char as_private[WEB_PUSH_PRIVATE_KEY_LEN];
	unsigned char as_public[WEB_PUSH_PUBLIC_KEY_LEN];
	unsigned char salt[WEB_PUSH_SALT_LEN];
	unsigned char ecdh[SHA256_LEN];
	unsigned char prk_key[SHA256_LEN], ikm[SHA256_LEN], prk[SHA256_LEN], cek[SHA256_LEN], nonce[SHA256_LEN];
	unsigned char key_info[sizeof key_label + 2 * WEB_PUSH_PUBLIC_KEY_LEN];
	size_t		ecdh_len = sizeof ecdh;
	size_t		total = payload_len + WEB_PUSH_OVERHEAD;
	EVP_PKEY   *mine = NULL;
	EVP_PKEY   *theirs = NULL;
	EVP_PKEY_CTX *dctx = NULL;
	EVP_CIPHER_CTX *cctx = NULL;
	int			n1 = 0, n2 = 0;
	unsigned char *ct;

	if (total > WEB_PUSH_RECORD_SIZE || total > out_cap)
		return "the payload does not fit one 4096-byte record";
	if (as_private_in != NULL)
		memcpy(as_private, as_private_in, sizeof as_private);
	if ((as_private_in != NULL ? public_from_private(as_private, as_public)
		 : web_push_generate_keys(as_private, as_public)) != NULL)
		return "could not make the sender's key";
	if (salt_in != NULL)
		memcpy(salt, salt_in, sizeof salt);
	else if (RAND_bytes(salt, sizeof salt) != 1)
		return "no randomness";

	/* The shared secret with the subscription's key. */
	mine = make_key(as_private, as_public);
	theirs = make_key(NULL, ua_public);
	if (mine == NULL || theirs == NULL)
	{
		err = theirs == NULL ? "the subscription's p256dh is not a P-256 public key" : "could not load the sender's key";
		goto done;
	}
	dctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
	if (dctx == NULL || EVP_PKEY_derive_init(dctx) != 1 || EVP_PKEY_derive_set_peer(dctx, theirs) != 1 ||
		EVP_PKEY_derive(dctx, ecdh, &ecdh_len) != 1 || ecdh_len != sizeof ecdh)
	{
		err = "ECDH failed";
		goto done;
	}

	/* RFC 8291 §3.4: IKM from the auth secret, then RFC 8188's key and nonce. */
	memcpy(key_info, key_label, sizeof key_label);
	memcpy(key_info + sizeof key_label, ua_public, WEB_PUSH_PUBLIC_KEY_LEN);
	memcpy(key_info + sizeof key_label + WEB_PUSH_PUBLIC_KEY_LEN, as_public, WEB_PUSH_PUBLIC_KEY_LEN);
	if (!hmac3(auth, WEB_PUSH_AUTH_LEN, ecdh, sizeof ecdh, NULL, 0, NULL, 0, prk_key) ||
		!hmac3(prk_key, sizeof prk_key, key_info, sizeof key_info, &one, 1, NULL, 0, ikm) ||
		!hmac3(salt, sizeof salt, ikm, sizeof ikm, NULL, 0, NULL, 0, prk) ||
		!hmac3(prk, sizeof prk, cek_label, sizeof cek_label, &one, 1, NULL, 0, cek) ||
		!hmac3(prk, sizeof prk, nonce_label, sizeof nonce_label, &one, 1, NULL, 0, nonce))
	{
		err = "key derivation failed";
		goto done;
	}

	/* The header: salt, record size, the sender's public key as key id. */
	memcpy(out, salt, WEB_PUSH_SALT_LEN);
	out[16] = (WEB_PUSH_RECORD_SIZE >> 24) & 0xff;
	out[17] = (WEB_PUSH_RECORD_SIZE >> 16) & 0xff;
	out[18] = (WEB_PUSH_RECORD_SIZE >> 8) & 0xff;
	out[19] = WEB_PUSH_RECORD_SIZE & 0xff;
	out[20] = WEB_PUSH_PUBLIC_KEY_LEN;
	memcpy(out + 21, as_public, WEB_PUSH_PUBLIC_KEY_LEN);

	/* One record: the payload and the last-record delimiter, sealed. */
	ct = out + WEB_PUSH_HEADER_LEN;
	cctx = EVP_CIPHER_CTX_new();
	if (cctx == NULL || EVP_EncryptInit_ex(cctx, EVP_aes_128_gcm(), NULL, NULL, NULL) != 1 ||
		EVP_CIPHER_CTX_ctrl(cctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
		EVP_EncryptInit_ex(cctx, NULL, NULL, cek, nonce) != 1 ||
		(payload_len > 0 && EVP_EncryptUpdate(cctx, ct, &n1, payload, (int) payload_len) != 1) ||
		EVP_EncryptUpdate(cctx, ct + n1, &n2, (const unsigned char *) "\x02", 1) != 1)
	{
		err = "encryption failed";
		goto done;
	}
	n1 += n2;
	if (EVP_EncryptFinal_ex(cctx, ct + n1, &n2) != 1 ||
		EVP_CIPHER_CTX_ctrl(cctx, EVP_CTRL_GCM_GET_TAG, 16, ct + n1 + n2) != 1)
	{
		err = "encryption failed";
		goto done;
	}
	*out_len = WEB_PUSH_HEADER_LEN + (size_t) (n1 + n2) + 16;
done:
	EVP_CIPHER_CTX_free(cctx);
	EVP_PKEY_CTX_free(dctx);
	EVP_PKEY_free(mine);
	EVP_PKEY_free(theirs);
	OPENSSL_cleanse(as_private, sizeof as_private);
	OPENSSL_cleanse(ecdh, sizeof ecdh);
	OPENSSL_cleanse(cek, sizeof cek);
	OPENSSL_cleanse(prk, sizeof prk);
	return err;
}

const char *
es256_sign(const unsigned char priv[WEB_PUSH_PRIVATE_KEY_LEN], const unsigned char *msg, size_t msg_len,
		   unsigned char sig[ES256_SIGNATURE_LEN])
{
	const char *err = "signing failed";
	unsigned char pub[WEB_PUSH_PUBLIC_KEY_LEN];
	unsigned char der[80];
	size_t		der_len = sizeof der;
	const unsigned char *p = der;
	EVP_PKEY   *key = NULL;
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG  *ecsig = NULL;
	const BIGNUM *r, *s;

	if (public_from_private(priv, pub) != NULL)
		return "not a P-256 private key";
	key = make_key(priv, pub);
	md = EVP_MD_CTX_new();
	if (key == NULL || md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
		EVP_DigestSign(md, der, &der_len, msg, msg_len) != 1)
		goto done;
	/* DER → the fixed-size r || s of JWS (RFC 7518 §3.4). */
	ecsig = d2i_ECDSA_SIG(NULL, &p, (long) der_len);
	if (ecsig == NULL)
		goto done;
	ECDSA_SIG_get0(ecsig, &r, &s);
	if (BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(s, sig + 32, 32) == 32)
		err = NULL;
done:
	ECDSA_SIG_free(ecsig);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	return err;
}
