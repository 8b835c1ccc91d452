/* UTF-8 validation following the Unicode "well-formed" table (RFC 3629),
 * which is what PostgreSQL enforces for a UTF8 database. */
#include "utf8_validate.h"

size_t utf8_sequence_length(const unsigned char *s, size_t n)
{
	if (n == 0 || s[0] == 0)
		return 0;
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;

	size_t len;
	unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0;          /* overlong */
		else if (c == 0xED)
			hi = 0x9F;          /* UTF-16 surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90;          /* overlong */
		else if (c == 0xF4)
			hi = 0x8F;          /* above U+10FFFF */
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return len;
}

bool utf8_is_valid_text(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		/* Fast path: plain ASCII is by far the common case for JSON bodies. */
		if (p[i] >= 0x01 && p[i] < 0x80) {
			i++;
			continue;
		}
		size_t len = utf8_sequence_length(p + i, n - i);
		if (len == 0)
			return false;
		i += len;
	}
	return true;
}
