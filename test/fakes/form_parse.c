/* Form/query decoding: '+' is a space and %XX a byte, as Twilio's servers
 * and libcurl's escaping assume. Malformed escapes are kept literally
 * rather than rejected, like most real servers. */
#include "form_parse.h"

#include <stdlib.h>
#include <string.h>

void form_init(struct form *f)
{
	f->pairs = NULL;
	f->n = 0;
	f->cap = 0;
}

void form_free(struct form *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->pairs[i].name);
		free(f->pairs[i].value);
	}
	free(f->pairs);
	form_init(f);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char *decode(const char *s, size_t len)
{
	char *out = malloc(len + 1);
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '+') {
			out[o++] = ' ';
		} else if (s[i] == '%' && i + 2 < len &&
			   hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

int form_parse(struct form *f, const char *s, size_t len)
{
	const char *end = s + len;

	while (s < end) {
		const char *amp = memchr(s, '&', (size_t)(end - s));
		const char *stop = amp ? amp : end;
		const char *eq = memchr(s, '=', (size_t)(stop - s));
		const char *name_end = eq ? eq : stop;

		if (stop > s) {
			if (f->n == f->cap) {
				size_t cap = f->cap ? f->cap * 2 : 8;
				struct form_pair *p = realloc(f->pairs, cap * sizeof(*p));

				if (!p)
					return -1;
				f->pairs = p;
				f->cap = cap;
			}
			char *name = decode(s, (size_t)(name_end - s));
			char *value = eq ? decode(eq + 1, (size_t)(stop - eq - 1))
					 : decode("", 0);

			if (!name || !value) {
				free(name);
				free(value);
				return -1;
			}
			f->pairs[f->n].name = name;
			f->pairs[f->n].value = value;
			f->n++;
		}
		s = amp ? amp + 1 : end;
	}
	return 0;
}

const char *form_get(const struct form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->pairs[i].name, name) == 0)
			return f->pairs[i].value;
	return NULL;
}

const char *form_get_nonempty(const struct form *f, const char *name)
{
	const char *v = form_get(f, name);

	return v && *v ? v : NULL;
}

size_t form_count(const struct form *f, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->pairs[i].name, name) == 0)
			n++;
	return n;
}
