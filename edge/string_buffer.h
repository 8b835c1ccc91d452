/* Growable byte buffer used to assemble request bodies and JSON parameters.
 * It always keeps a trailing NUL so the contents can be handed to libpq
 * as a C string without another copy. */
#ifndef NMC_STRING_BUFFER_H
#define NMC_STRING_BUFFER_H

#include <stdbool.h>
#include <stddef.h>

struct string_buffer {
	char *data;   /* NULL until the first append; then NUL-terminated */
	size_t len;
	size_t cap;
	bool failed;  /* sticky: an allocation failed, contents are incomplete */
};

void string_buffer_init(struct string_buffer *sb);
bool string_buffer_reserve(struct string_buffer *sb, size_t extra);
bool string_buffer_append(struct string_buffer *sb, const char *bytes, size_t n);
bool string_buffer_append_str(struct string_buffer *sb, const char *s);
bool string_buffer_append_char(struct string_buffer *sb, char c);
void string_buffer_free(struct string_buffer *sb);

#endif
