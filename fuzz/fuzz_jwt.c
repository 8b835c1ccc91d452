/* fuzz_jwt.c — nmc.jwt_verify's handling of the token text: splitting at
 * the dots (extension/src/jwt_core.c), base64url decoding of each part
 * (base64url_core.c) and the HS256 check. The claims are read by
 * PostgreSQL's own JSON code, which is not fuzzed here. Asserts the parts
 * tile the token, decoding never writes past its sizes, encode then decode
 * gives the bytes back, and a token signed here from the input verifies. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64url_core.h"
#include "jwt_core.h"

static const char key[] = "fuzz-secret";

/* Decoded part in malloc'd memory (NULL if not base64url). */
static unsigned char *decode(const char *s, size_t len, int *out_len)
{
	int scratch_size = base64url_decode_scratch_size((int)len);
	int cap = base64url_decoded_size((int)len);
	if (scratch_size < 0 || cap < 0) {
		if (len % 4 != 1)
			abort();
		return NULL;
	}
	char *scratch = malloc((size_t)scratch_size);
	unsigned char *dst = malloc((size_t)cap);
	int n = base64url_decode_into(s, (int)len, scratch, dst, cap);
	free(scratch);
	if (n < 0) {
		free(dst);
		return NULL;
	}
	if (n >= cap || n > (int)len)
		abort();
	*out_len = n;
	return dst;
}

static char *encode(const unsigned char *src, size_t len)
{
	int cap = base64url_encoded_size((int)len);
	char *dst = malloc((size_t)cap);
	int n = base64url_encode_into(src, (int)len, dst, cap);
	if (n < 0 || n >= cap || strlen(dst) != (size_t)n ||
	    strpbrk(dst, "+/=") != NULL)
		abort();
	return dst;
}

/* The token as it arrives: split, decode, check the signature. */
static void verify(const char *token, size_t len)
{
	struct jwt_parts p;
	if (!jwt_split(token, len, &p)) {
		int dots = 0;
		for (size_t i = 0; i < len; i++)
			dots += token[i] == '.';
		if (dots == 2)
			abort();
		return;
	}
	if (p.header_len + p.payload_len + p.signature_len + 2 != len ||
	    p.signing_input_len != p.header_len + 1 + p.payload_len ||
	    p.header != token || p.signature + p.signature_len != token + len ||
	    memchr(p.signature, '.', p.signature_len) != NULL)
		abort();
	int n;
	unsigned char *part;
	if ((part = decode(p.header, p.header_len, &n)) != NULL)
		free(part);
	if ((part = decode(p.payload, p.payload_len, &n)) != NULL)
		free(part);
	unsigned char mac[HS256_MAC_LEN];
	if (!jwt_hs256(key, sizeof key - 1, token, p.signing_input_len, mac))
		abort();
	if ((part = decode(p.signature, p.signature_len, &n)) != NULL) {
		(void)jwt_signature_matches(part, (size_t)n, mac);
		free(part);
	}
}

/* A token signed here around the input as payload must verify, and its
 * payload must decode back to the input. */
static void sign_and_verify(const uint8_t *data, size_t size)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	char *h = encode((const unsigned char *)header, sizeof header - 1);
	char *p = encode(data, size);
	size_t hl = strlen(h), pl = strlen(p);
	char *token = malloc(hl + pl + 2 + 64);
	memcpy(token, h, hl);
	token[hl] = '.';
	memcpy(token + hl + 1, p, pl);
	unsigned char mac[HS256_MAC_LEN];
	if (!jwt_hs256(key, sizeof key - 1, token, hl + 1 + pl, mac))
		abort();
	char *s = encode(mac, sizeof mac);
	size_t sl = strlen(s);
	token[hl + 1 + pl] = '.';
	memcpy(token + hl + pl + 2, s, sl);

	struct jwt_parts parts;
	int n;
	if (!jwt_split(token, hl + pl + 2 + sl, &parts))
		abort();
	unsigned char *sig = decode(parts.signature, parts.signature_len, &n);
	if (sig == NULL || !jwt_signature_matches(sig, (size_t)n, mac))
		abort();
	unsigned char *payload = decode(parts.payload, parts.payload_len, &n);
	if (payload == NULL || (size_t)n != size || (size > 0 && memcmp(payload, data, size) != 0))
		abort();
	free(sig);
	free(payload);
	free(s);
	free(token);
	free(h);
	free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	verify((const char *)data, size);
	sign_and_verify(data, size);
	return 0;
}
