/* application/x-www-form-urlencoded decoding, for Twilio request bodies and
 * for every query string (parsed from the raw text so the recorded query
 * and the parameters the fakes see come from the same bytes). */
#ifndef FAKE_FORM_PARSE_H
#define FAKE_FORM_PARSE_H

#include <stddef.h>

struct form_pair {
	char *name;
	char *value;
};

struct form {
	struct form_pair *pairs;
	size_t n;
	size_t cap;
};

void form_init(struct form *f);
void form_free(struct form *f);
/* Adds every name=value of s[0..len); repeated names are kept in order.
 * Returns 0, or -1 when out of memory. */
int form_parse(struct form *f, const char *s, size_t len);
/* First value of name, or NULL. */
const char *form_get(const struct form *f, const char *name);
/* First value of name if present and non-empty, else NULL. */
const char *form_get_nonempty(const struct form *f, const char *name);
size_t form_count(const struct form *f, const char *name);

#endif
