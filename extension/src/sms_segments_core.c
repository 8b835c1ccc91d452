/*
 * sms_segments_core.c — the SMS text rules (sms_segments_core.h): whether a
 * text fits the GSM 03.38 7-bit alphabet or needs UCS-2, and how many
 * segments it will be billed and delivered as.
 */
#include "sms_segments_core.h"

#include <stddef.h>

/* The GSM 03.38 default alphabet (one septet each), as Unicode code points. */
static const uint32_t gsm7_basic[] = {
	'@', 0xA3, '$', 0xA5, 0xE8, 0xE9, 0xF9, 0xEC, 0xF2, 0xC7, '\n', 0xD8, 0xF8, '\r', 0xC5, 0xE5,
	0x394, '_', 0x3A6, 0x393, 0x39B, 0x3A9, 0x3A0, 0x3A8, 0x3A3, 0x398, 0x39E, 0xC6, 0xE6, 0xDF, 0xC9,
	' ', '!', '"', '#', 0xA4, '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
	0xA1, 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 0xC4, 0xD6, 0xD1, 0xDC, 0xA7,
	0xBF, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 0xE4, 0xF6, 0xF1, 0xFC, 0xE0,
};

/* The extension table: an escape septet plus one, so two septets each. */
static const uint32_t gsm7_extension[] = {'\f', '^', '{', '}', '\\', '[', '~', ']', '|', 0x20AC};

static bool
in_table(uint32_t c, const uint32_t *table, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (table[i] == c)
			return true;
	return false;
}

void
sms_segments_count(const uint32_t *chars, int nchars, struct sms_count *out)
{
	int			septets = 0;
	int			utf16_units = 0;
	bool		gsm7 = true;

	for (int i = 0; i < nchars; i++)
	{
		uint32_t	c = chars[i];

		utf16_units += (c > 0xFFFF) ? 2 : 1;
		if (in_table(c, gsm7_basic, sizeof gsm7_basic / sizeof gsm7_basic[0]))
			septets += 1;
		else if (in_table(c, gsm7_extension, sizeof gsm7_extension / sizeof gsm7_extension[0]))
			septets += 2;
		else
			gsm7 = false;
	}

	out->gsm7 = gsm7;
	if (gsm7)
	{
		out->units = septets;
		out->segments = septets == 0 ? 0 : septets <= GSM7_SINGLE ? 1 : (septets + GSM7_PART - 1) / GSM7_PART;
	}
	else
	{
		out->units = utf16_units;
		out->segments = utf16_units <= UCS2_SINGLE ? 1 : (utf16_units + UCS2_PART - 1) / UCS2_PART;
	}
}
