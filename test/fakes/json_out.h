/* Growable output buffer with JSON string encoding, used to build every
 * response body. Failure is sticky so a whole document can be appended and
 * checked once at the end. */
#ifndef FAKE_JSON_OUT_H
#define FAKE_JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>

struct jbuf {
	char *data;
	size_t len;
	size_t cap;
	bool failed;
};

void jb_init(struct jbuf *b);
void jb_free(struct jbuf *b);
void jb_append(struct jbuf *b, const char *s, size_t n);
void jb_puts(struct jbuf *b, const char *s);
void jb_printf(struct jbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Quoted JSON string; NULL becomes the literal null. Invalid UTF-8 bytes
 * become U+FFFD so the output always parses. */
void jb_str(struct jbuf *b, const char *s);
void jb_strn(struct jbuf *b, const char *s, size_t n);
/* Hands over the NUL-terminated buffer (caller frees); NULL if any append
 * failed. The jbuf is left empty. */
char *jb_take(struct jbuf *b, size_t *len);

#endif
