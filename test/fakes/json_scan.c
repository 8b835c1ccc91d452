/* JSON syntax checking and container walking on raw text. Values are
 * returned as slices of the input, so scripted OpenAI messages are echoed
 * byte for byte instead of being re-serialised. */
#include "json_scan.h"

#include <stdlib.h>
#include <string.h>

/* Deep enough for any real chat request; bounded so hostile input cannot
 * exhaust a connection thread's stack. */
#define JSON_MAX_DEPTH 200

const char *json_skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
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

static const char *skip_string(const char *p, const char *end)
{
	p++; /* opening quote */
	while (p < end) {
		unsigned char c = (unsigned char)*p;

		if (c == '"')
			return p + 1;
		if (c < 0x20)
			return NULL;
		if (c == '\\') {
			if (++p >= end)
				return NULL;
			if (*p == 'u') {
				if (end - p < 5)
					return NULL;
				for (int i = 1; i <= 4; i++)
					if (hexval(p[i]) < 0)
						return NULL;
				p += 5;
				continue;
			}
			if (!strchr("\"\\/bfnrt", *p) || *p == '\0')
				return NULL;
		}
		p++;
	}
	return NULL;
}

static const char *skip_digits(const char *p, const char *end, int *count)
{
	*count = 0;
	while (p < end && *p >= '0' && *p <= '9') {
		p++;
		(*count)++;
	}
	return p;
}

static const char *skip_number(const char *p, const char *end)
{
	int n;

	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0') {
		p++;
	} else {
		p = skip_digits(p, end, &n);
		if (n == 0)
			return NULL;
	}
	if (p < end && *p == '.') {
		p = skip_digits(p + 1, end, &n);
		if (n == 0)
			return NULL;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		p = skip_digits(p, end, &n);
		if (n == 0)
			return NULL;
	}
	return p;
}

static const char *skip_literal(const char *p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - p) < n || memcmp(p, lit, n) != 0)
		return NULL;
	return p + n;
}

static const char *skip_value(const char *p, const char *end, int depth);

static const char *skip_container(const char *p, const char *end, int depth)
{
	char close = *p == '{' ? '}' : ']';
	bool object = *p == '{';

	if (depth > JSON_MAX_DEPTH)
		return NULL;
	p = json_skip_ws(p + 1, end);
	if (p < end && *p == close)
		return p + 1;
	for (;;) {
		if (object) {
			if (p >= end || *p != '"')
				return NULL;
			p = skip_string(p, end);
			if (!p)
				return NULL;
			p = json_skip_ws(p, end);
			if (p >= end || *p != ':')
				return NULL;
			p = json_skip_ws(p + 1, end);
		}
		p = skip_value(p, end, depth + 1);
		if (!p)
			return NULL;
		p = json_skip_ws(p, end);
		if (p >= end)
			return NULL;
		if (*p == close)
			return p + 1;
		if (*p != ',')
			return NULL;
		p = json_skip_ws(p + 1, end);
	}
}

static const char *skip_value(const char *p, const char *end, int depth)
{
	if (p >= end)
		return NULL;
	switch (*p) {
	case '{':
	case '[':
		return skip_container(p, end, depth);
	case '"':
		return skip_string(p, end);
	case 't':
		return skip_literal(p, end, "true");
	case 'f':
		return skip_literal(p, end, "false");
	case 'n':
		return skip_literal(p, end, "null");
	default:
		return skip_number(p, end);
	}
}

bool json_valid(const char *s, size_t len)
{
	const char *end = s + len;
	const char *p = skip_value(json_skip_ws(s, end), end, 0);

	return p && json_skip_ws(p, end) == end;
}

bool json_iter_begin(struct json_iter *it, const char *c, const char *end)
{
	if (c >= end || (*c != '{' && *c != '['))
		return false;
	it->object = *c == '{';
	it->p = c + 1;
	it->end = end;
	it->first = true;
	return true;
}

bool json_iter_next(struct json_iter *it, const char **key, size_t *key_len,
		    const char **val, size_t *val_len)
{
	const char *p = json_skip_ws(it->p, it->end);
	const char *v;

	if (p >= it->end || *p == '}' || *p == ']')
		return false;
	if (!it->first) {
		if (*p != ',')
			return false;
		p = json_skip_ws(p + 1, it->end);
	}
	it->first = false;
	*key = NULL;
	*key_len = 0;
	if (it->object) {
		const char *kend = skip_string(p, it->end);

		if (!kend)
			return false;
		*key = p + 1;
		*key_len = (size_t)(kend - p - 2);
		p = json_skip_ws(kend, it->end);
		if (p >= it->end || *p != ':')
			return false;
		p = json_skip_ws(p + 1, it->end);
	}
	v = skip_value(p, it->end, 0);
	if (!v)
		return false;
	*val = p;
	*val_len = (size_t)(v - p);
	it->p = v;
	return true;
}

bool json_member(const char *c, const char *end, const char *key,
		 const char **val, size_t *val_len)
{
	struct json_iter it;
	const char *k;
	size_t klen, want = strlen(key);

	if (!json_iter_begin(&it, c, end) || !it.object)
		return false;
	while (json_iter_next(&it, &k, &klen, val, val_len))
		if (klen == want && memcmp(k, key, want) == 0)
			return true;
	return false;
}

static unsigned hex4(const char *p)
{
	return (unsigned)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 |
			  hexval(p[3]));
}

static char *put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | cp >> 18);
		*o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

char *json_string_dup(const char *v, size_t len)
{
	const char *end = v + len, *p = v + 1;
	char *out, *o;

	/* Decoding never grows the text, so len bytes are enough. */
	if (len < 2 || *v != '"' || skip_string(v, end) != end || !(out = malloc(len)))
		return NULL;
	for (o = out; p < end - 1; p++) {
		unsigned cp;

		if (*p != '\\') {
			*o++ = *p;
			continue;
		}
		switch (*++p) {
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			cp = hex4(p + 1);
			p += 4;
			/* A high surrogate pairs with a following \uDC00-\uDFFF;
			 * a lone one becomes U+FFFD. */
			if (cp >= 0xd800 && cp < 0xdc00 && end - p > 6 && p[1] == '\\' &&
			    p[2] == 'u' && hex4(p + 3) >= 0xdc00 && hex4(p + 3) < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (hex4(p + 3) - 0xdc00);
				p += 6;
			} else if (cp >= 0xd800 && cp < 0xe000) {
				cp = 0xfffd;
			}
			if (cp == 0) {
				free(out);
				return NULL;
			}
			o = put_utf8(o, cp);
			break;
		default: *o++ = *p; break; /* " \ / */
		}
	}
	*o = '\0';
	return out;
}
