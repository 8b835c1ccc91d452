/* json_object.c — building the flat objects of json_object.h. Duplicate
 * names are emitted in arrival order; jsonb keeps the last one, which is
 * exactly the "last wins" rule. */
#include "json_object.h"

#include "json_escape.h"

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
