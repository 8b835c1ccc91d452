/* Growable byte buffer. Failure is sticky so callers can append a whole
 * document and check once at the end instead of after every call. */
#include "string_buffer.h"

#include <stdlib.h>
#include <string.h>

void string_buffer_init(struct string_buffer *sb)
{
	sb->data = NULL;
	sb->len = 0;
	sb->cap = 0;
	sb->failed = false;
}

bool string_buffer_reserve(struct string_buffer *sb, size_t extra)
{
	if (sb->failed)
		return false;
	/* +1 keeps room for the terminating NUL. */
	if (extra > (size_t)-1 - sb->len - 1) {
		sb->failed = true;
		return false;
	}
	size_t need = sb->len + extra + 1;
	if (need <= sb->cap)
		return true;
	size_t cap = sb->cap ? sb->cap : 64;
	while (cap < need)
		cap = cap > (size_t)-1 / 2 ? need : cap * 2;
	char *p = realloc(sb->data, cap);
	if (p == NULL) {
		sb->failed = true;
		return false;
	}
	sb->data = p;
	sb->cap = cap;
	return true;
}

bool string_buffer_append(struct string_buffer *sb, const char *bytes, size_t n)
{
	if (!string_buffer_reserve(sb, n))
		return false;
	if (n > 0)
		memcpy(sb->data + sb->len, bytes, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
	return true;
}

bool string_buffer_append_str(struct string_buffer *sb, const char *s)
{
	return string_buffer_append(sb, s, strlen(s));
}

bool string_buffer_append_char(struct string_buffer *sb, char c)
{
	return string_buffer_append(sb, &c, 1);
}

void string_buffer_free(struct string_buffer *sb)
{
	free(sb->data);
	string_buffer_init(sb);
}
