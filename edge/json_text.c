/* json_text.c — UTF-8 validation following the Unicode "well-formed" table
 * (RFC 3629), which is what PostgreSQL enforces for a UTF8 database, and the
 * JSON the edge writes. Invalid UTF-8 inside a JSON string is replaced rather
 * than rejected: a stray byte in some header must not turn the whole request
 * into a database error. */
#include "json_text.h"

#include <string.h>

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

static const char hex_digits[] = "0123456789abcdef";

bool json_escape_append(struct string_buffer *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p);

	string_buffer_append_char(sb, '"');
	size_t i = 0;
	while (i < n) {
		unsigned char c = p[i];
		if (c >= 0x80) {
			size_t len = utf8_sequence_length(p + i, n - i);
			if (len == 0) {
				string_buffer_append_str(sb, "\\ufffd");
				i++;
			} else {
				string_buffer_append(sb, (const char *)p + i, len);
				i += len;
			}
			continue;
		}
		switch (c) {
		case '"':  string_buffer_append_str(sb, "\\\""); break;
		case '\\': string_buffer_append_str(sb, "\\\\"); break;
		case '\b': string_buffer_append_str(sb, "\\b"); break;
		case '\f': string_buffer_append_str(sb, "\\f"); break;
		case '\n': string_buffer_append_str(sb, "\\n"); break;
		case '\r': string_buffer_append_str(sb, "\\r"); break;
		case '\t': string_buffer_append_str(sb, "\\t"); break;
		default:
			if (c < 0x20) {
				char esc[6] = { '\\', 'u', '0', '0',
						hex_digits[c >> 4], hex_digits[c & 0xF] };
				string_buffer_append(sb, esc, sizeof esc);
			} else {
				string_buffer_append_char(sb, (char)c);
			}
		}
		i++;
	}
	return string_buffer_append_char(sb, '"');
}

bool json_error_append(struct string_buffer *sb, const char *code, const char *message)
{
	string_buffer_append_str(sb, "{\"error\":{\"code\":");
	json_escape_append(sb, code);
	string_buffer_append_str(sb, ",\"message\":");
	json_escape_append(sb, message);
	string_buffer_append_str(sb, "}}");
	return !sb->failed;
}

/* Duplicate names are emitted in arrival order; jsonb keeps the last one,
 * which is exactly the "last wins" rule. */
void json_object_begin(struct json_object_builder *b, bool lowercase_keys)
{
	string_buffer_init(&b->sb);
	b->lowercase_keys = lowercase_keys;
	b->first = true;
}

void json_object_add(struct json_object_builder *b, const char *key, const char *value)
{
	string_buffer_append_char(&b->sb, b->first ? '{' : ',');
	b->first = false;

	size_t key_start = b->sb.len;
	json_escape_append(&b->sb, key);
	/* HTTP header names are case-insensitive; the SQL side gets them in
	 * one canonical case. Lowercasing the escaped form is safe because
	 * every escape sequence the encoder emits is already lowercase. */
	if (b->lowercase_keys && !b->sb.failed)
		for (size_t i = key_start; i < b->sb.len; i++)
			if (b->sb.data[i] >= 'A' && b->sb.data[i] <= 'Z')
				b->sb.data[i] = (char)(b->sb.data[i] - 'A' + 'a');

	string_buffer_append_char(&b->sb, ':');
	/* "?flag" without "=" has no value; present it as an empty string so
	 * every member is a string as the SQL contract says. */
	json_escape_append(&b->sb, value ? value : "");
}

bool json_object_finish(struct json_object_builder *b, struct string_buffer *out)
{
	if (b->first)
		string_buffer_append_char(&b->sb, '{');
	string_buffer_append_char(&b->sb, '}');
	*out = b->sb;
	return !out->failed;
}
