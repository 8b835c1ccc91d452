/*
 * form_decode_core.c — the form_urlencoded rules (form_decode_core.h): how a
 * body splits into fields and how a name or value is percent-decoded. Pure C
 * so the fuzzer runs the same code as nmc.form_decode.
 */
#include "form_decode_core.h"

#include <string.h>

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
form_next_field(const char *body, size_t len, size_t *pos, struct form_field *field)
{
	size_t		start = *pos;

	while (start < len)
	{
		size_t		end = start;
		size_t		eq;

		while (end < len && body[end] != '&')
			end++;
		if (end > start)
		{
			eq = start;
			while (eq < end && body[eq] != '=')
				eq++;
			field->name = body + start;
			field->name_len = eq - start;
			field->value = body + (eq < end ? eq + 1 : end);
			field->value_len = eq < end ? end - eq - 1 : 0;
			*pos = end + 1;
			return true;
		}
		start = end + 1;
	}
	*pos = start;
	return false;
}

enum form_decode_status
form_decode_part(const char *s, size_t len, char *out, size_t *out_len)
{
	size_t		n = 0;

	*out_len = 0;
	for (size_t i = 0; i < len; i++)
	{
		if (s[i] == '+')
			out[n++] = ' ';
		else if (s[i] == '%')
		{
			int			hi = i + 2 < len ? hex_value(s[i + 1]) : -1;
			int			lo = i + 2 < len ? hex_value(s[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				return FORM_DECODE_BAD_ESCAPE;
			out[n++] = (char) (hi * 16 + lo);
			i += 2;
		}
		else
			out[n++] = s[i];
	}
	*out_len = n;
	return memchr(out, '\0', n) == NULL ? FORM_DECODE_OK : FORM_DECODE_NUL;
}
