/* A small multipart/form-data reader: enough to check what the product
 * uploads (the parts' names, a file's name and its exact bytes). */
#include "multipart.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *find_bytes(const char *hay, size_t hay_len, const char *needle, size_t n)
{
	if (n == 0 || hay_len < n)
		return NULL;
	for (size_t i = 0; i + n <= hay_len; i++)
		if (hay[i] == needle[0] && memcmp(hay + i, needle, n) == 0)
			return hay + i;
	return NULL;
}

/* The value of attr="…" in a header line, copied into out. */
static void header_attr(const char *line, size_t len, const char *attr, char *out, size_t out_size)
{
	char key[32];
	int klen = snprintf(key, sizeof(key), "%s=\"", attr);
	const char *p = line;

	out[0] = '\0';
	while ((p = find_bytes(p, len - (size_t)(p - line), key, (size_t)klen)) != NULL) {
		/* name=" must not be the tail of filename=". */
		if (p == line || p[-1] == ' ' || p[-1] == ';') {
			const char *v = p + klen;
			const char *end = memchr(v, '"', len - (size_t)(v - line));
			size_t n;

			if (!end)
				return;
			n = (size_t)(end - v);
			if (n >= out_size)
				n = out_size - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return;
		}
		p += klen;
	}
}

bool multipart_parse(const char *content_type, const char *body, size_t body_len,
		     struct multipart_part *parts, size_t *nparts)
{
	char delim[128];
	const char *b, *p, *end = body + body_len;
	size_t blen, dlen;

	*nparts = 0;
	if (!content_type || strncasecmp(content_type, "multipart/form-data", 19) != 0)
		return false;
	b = strstr(content_type, "boundary=");
	if (!b)
		return false;
	b += 9;
	blen = strcspn(b, "; ");
	if (blen == 0 || blen > 70)
		return false;
	dlen = (size_t)snprintf(delim, sizeof(delim), "--%.*s", (int)blen, b);
	p = find_bytes(body, body_len, delim, dlen);
	if (!p)
		return false;
	for (;;) {
		const char *headers, *hend, *next;
		struct multipart_part *part;

		p += dlen;
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return *nparts > 0;
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return false;
		headers = p + 2;
		hend = find_bytes(headers, (size_t)(end - headers), "\r\n\r\n", 4);
		if (!hend)
			return false;
		/* The part's bytes run to CRLF + the next delimiter. */
		{
			char crlf_delim[132];
			int n = snprintf(crlf_delim, sizeof(crlf_delim), "\r\n%s", delim);

			next = find_bytes(hend + 4, (size_t)(end - hend - 4), crlf_delim, (size_t)n);
		}
		if (!next)
			return false;
		if (*nparts < MULTIPART_MAX_PARTS) {
			part = &parts[(*nparts)++];
			header_attr(headers, (size_t)(hend - headers), "name", part->name, sizeof(part->name));
			header_attr(headers, (size_t)(hend - headers), "filename", part->filename, sizeof(part->filename));
			part->data = hend + 4;
			part->len = (size_t)(next - part->data);
		}
		p = next + 2;
	}
}

const struct multipart_part *multipart_find(const struct multipart_part *parts, size_t nparts,
					    const char *name)
{
	for (size_t i = 0; i < nparts; i++)
		if (strcmp(parts[i].name, name) == 0)
			return &parts[i];
	return NULL;
}
