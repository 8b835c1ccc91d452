/* fuzz_url_encode.c — nmc.url_encode's rule (extension/src/url_encode_core.c).
 * Asserts the output holds only unreserved characters and %XX escapes, and
 * that form decoding (form_decode_core.c) gives back the input exactly:
 * decode(encode(x)) == x, NUL bytes being refused as text cannot hold them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form_decode_core.h"
#include "url_encode_core.h"

static int is_upper_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *encoded = malloc(size * URL_ENCODE_MAX_PER_BYTE + 1);
	char *decoded = malloc(size * URL_ENCODE_MAX_PER_BYTE + 1);
	size_t n = 0, decoded_len;
	for (size_t i = 0; i < size; i++) {
		int k = url_encode_byte(data[i], encoded + n);
		if (!(k == 1 || (k == 3 && encoded[n] == '%' &&
				 is_upper_hex(encoded[n + 1]) && is_upper_hex(encoded[n + 2]))))
			abort();
		if (k == 1 && (encoded[n] == '%' || encoded[n] == '+' || encoded[n] == '&' || encoded[n] == '='))
			abort();
		n += (size_t)k;
	}
	enum form_decode_status status = form_decode_part(encoded, n, decoded, &decoded_len);
	if (memchr(data, '\0', size) != NULL) {
		if (status != FORM_DECODE_NUL)
			abort();
	} else if (status != FORM_DECODE_OK || decoded_len != size ||
		   (size > 0 && memcmp(decoded, data, size) != 0)) {
		abort();
	}
	free(encoded);
	free(decoded);
	return 0;
}
