/* fuzz_form_decode.c — nmc.form_decode's parser (extension/src/
 * form_decode_core.c) on arbitrary bodies. Asserts that every field lies
 * inside the body, a decoded part is never longer than its encoding, and
 * re-encoding a decoded part (url_encode_core.c) decodes back to it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form_decode_core.h"
#include "url_encode_core.h"

static void check_round_trip(const char *decoded, size_t len)
{
	char *encoded = malloc(len * URL_ENCODE_MAX_PER_BYTE + 1);
	char *again = malloc(len * URL_ENCODE_MAX_PER_BYTE + 1);
	size_t n = 0, again_len;
	for (size_t i = 0; i < len; i++)
		n += (size_t)url_encode_byte((unsigned char)decoded[i], encoded + n);
	if (form_decode_part(encoded, n, again, &again_len) != FORM_DECODE_OK ||
	    again_len != len || memcmp(again, decoded, len) != 0)
		abort();
	free(encoded);
	free(again);
}

static void decode(const char *s, size_t len, const char *body, size_t body_len)
{
	char *out = malloc(len + 1);
	size_t n;
	if (s < body || s + len > body + body_len)
		abort();
	enum form_decode_status status = form_decode_part(s, len, out, &n);
	if (n > len)
		abort();
	if (status == FORM_DECODE_OK) {
		if (memchr(out, '\0', n) != NULL)
			abort();
		check_round_trip(out, n);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	size_t pos = 0, fields = 0;
	struct form_field field;
	while (form_next_field(body, size, &pos, &field)) {
		if (field.value + field.value_len == field.name)
			abort();   /* empty fields are skipped, never returned */
		decode(field.name, field.name_len, body, size);
		decode(field.value, field.value_len, body, size);
		if (++fields > size)
			abort();   /* each field consumes at least one byte */
	}
	return 0;
}
