/* Minimal JSON reader: validates a document and walks the members of an
 * object or the elements of an array without building a tree. Enough for
 * the OpenAI request checks and the scripted-response admin endpoint. */
#ifndef FAKE_JSON_SCAN_H
#define FAKE_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>

/* True if s[0..len) is exactly one JSON value (surrounding space allowed). */
bool json_valid(const char *s, size_t len);

/* Position of the first non-space byte (the value) of a valid document. */
const char *json_skip_ws(const char *p, const char *end);

/* Iterates a container of an already validated document. */
struct json_iter {
	const char *p;
	const char *end;
	bool object;
	bool first;
};

/* c points at '{' or '['; false if it is neither. */
bool json_iter_begin(struct json_iter *it, const char *c, const char *end);
/* Next member/element: key is the raw text between the quotes (escapes
 * left as written; NULL for arrays), val/val_len the raw value text.
 * Returns false at the end of the container. */
bool json_iter_next(struct json_iter *it, const char **key, size_t *key_len,
		    const char **val, size_t *val_len);

/* Finds a member of the object at c whose raw key equals key. */
bool json_member(const char *c, const char *end, const char *key,
		 const char **val, size_t *val_len);

/* The text of the JSON string value v[0..len) (quotes included, as
 * json_member returns it) with escapes decoded, malloc'd; NULL if v is not a
 * string, is malformed or holds \u0000. */
char *json_string_dup(const char *v, size_t len);

#endif
