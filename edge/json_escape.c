/* JSON string literal encoder. Invalid UTF-8 is replaced rather than
 * rejected: a stray byte in some header must not turn the whole request
 * into a database error. */
#include "json_escape.h"

#include <string.h>

#include "utf8_validate.h"

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
