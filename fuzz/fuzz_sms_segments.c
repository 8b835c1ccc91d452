/* fuzz_sms_segments.c — nmc.sms_segments' rules (extension/src/
 * sms_segments_core.c) on any text PostgreSQL could hand it: the input is
 * read as UTF-8 the way a UTF8 database accepts it (edge/json_text.c,
 * same rules) and stops at the first invalid byte. Asserts: an empty text
 * is 0 segments and any other at least 1; units count each character once
 * (GSM-7 extension characters and UCS-2 surrogate pairs twice); the
 * segments are exactly the fewest parts holding the units. */
#include <stdint.h>
#include <stdlib.h>

#include "sms_segments_core.h"
#include "json_text.h"

static uint32_t code_point(const unsigned char *s, size_t len)
{
	static const unsigned char lead_mask[] = { 0, 0x7F, 0x1F, 0x0F, 0x07 };
	uint32_t c = s[0] & lead_mask[len];
	for (size_t i = 1; i < len; i++)
		c = (c << 6) | (s[i] & 0x3F);
	return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t *chars = malloc((size + 1) * sizeof *chars);
	int n = 0, astral = 0;
	for (size_t i = 0; i < size;) {
		size_t len = utf8_sequence_length(data + i, size - i);
		if (len == 0)
			break;
		chars[n] = code_point(data + i, len);
		astral += chars[n] > 0xFFFF;
		n++;
		i += len;
	}

	struct sms_count count;
	sms_segments_count(chars, n, &count);

	if ((n == 0) != (count.segments == 0))
		abort();
	if (count.gsm7) {
		if (count.units < n || count.units > 2 * n || astral > 0)
			abort();
		if (count.units > 0 &&
		    count.segments != (count.units <= GSM7_SINGLE ? 1 : (count.units + GSM7_PART - 1) / GSM7_PART))
			abort();
	} else {
		if (n == 0 || count.units != n + astral)
			abort();
		if (count.segments != (count.units <= UCS2_SINGLE ? 1 : (count.units + UCS2_PART - 1) / UCS2_PART))
			abort();
		/* Fewest parts: one fewer would not hold the units. */
		if (count.segments > 1 && (count.segments - 1) * UCS2_PART >= count.units)
			abort();
	}
	if (count.segments > 1 && count.segments * (count.gsm7 ? GSM7_PART : UCS2_PART) < count.units)
		abort();
	free(chars);
	return 0;
}
