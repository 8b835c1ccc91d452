/* Output buffer and JSON string escaping. Escaping lives here only, so no
 * fake can emit a body a strict client parser would reject. */
#include "json_out.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

void jb_init(struct jbuf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->failed = false;
}

void jb_free(struct jbuf *b)
{
	free(b->data);
	jb_init(b);
}

static bool jb_reserve(struct jbuf *b, size_t extra)
{
	size_t want;
	char *p;

	if (b->failed)
		return false;
	want = b->len + extra + 1; /* room for the terminating NUL */
	if (want <= b->cap)
		return true;
	if (want < b->len) {
		b->failed = true;
		return false;
	}
	size_t cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void jb_append(struct jbuf *b, const char *s, size_t n)
{
	if (!jb_reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void jb_puts(struct jbuf *b, const char *s)
{
	jb_append(b, s, strlen(s));
}

void jb_printf(struct jbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!jb_reserve(b, 64))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (!jb_reserve(b, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void jb_strn(struct jbuf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	jb_append(b, "\"", 1);
	while (i < n) {
		unsigned char c = p[i];
		uint32_t cp;
		size_t len;

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		/* Copy the run of plain bytes before this special one at once:
		 * bodies can be 64 KiB and are dumped often. */
		jb_append(b, s + run, i - run);
		if (c >= 0x80) {
			len = utf8_decode(p + i, n - i, &cp);
			if (len) {
				jb_append(b, s + i, len);
				i += len;
			} else {
				jb_puts(b, "\\ufffd");
				i++;
			}
		} else {
			switch (c) {
			case '"': jb_puts(b, "\\\""); break;
			case '\\': jb_puts(b, "\\\\"); break;
			case '\n': jb_puts(b, "\\n"); break;
			case '\r': jb_puts(b, "\\r"); break;
			case '\t': jb_puts(b, "\\t"); break;
			case '\b': jb_puts(b, "\\b"); break;
			case '\f': jb_puts(b, "\\f"); break;
			default: jb_printf(b, "\\u%04x", c); break;
			}
			i++;
		}
		run = i;
	}
	jb_append(b, s + run, i - run);
	jb_append(b, "\"", 1);
}

void jb_str(struct jbuf *b, const char *s)
{
	if (!s)
		jb_puts(b, "null");
	else
		jb_strn(b, s, strlen(s));
}

char *jb_take(struct jbuf *b, size_t *len)
{
	char *d;

	if (b->failed || !jb_reserve(b, 0)) {
		jb_free(b);
		return NULL;
	}
	d = b->data;
	if (len)
		*len = b->len;
	jb_init(b);
	return d;
}
