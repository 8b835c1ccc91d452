/* multipart/form-data (RFC 7578) as OpenAI's file uploads take it: the
 * boundary from the Content-Type, then each part's name and bytes. */
#ifndef MULTIPART_H
#define MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

struct multipart_part {
	char name[64];
	char filename[128];
	const char *data; /* into the request body */
	size_t len;
};

#define MULTIPART_MAX_PARTS 16

/* Parses body; false when the Content-Type has no boundary or a part is
 * malformed. Fills at most MULTIPART_MAX_PARTS parts. */
bool multipart_parse(const char *content_type, const char *body, size_t body_len,
		     struct multipart_part *parts, size_t *nparts);

/* The part named name, or NULL. */
const struct multipart_part *multipart_find(const struct multipart_part *parts, size_t nparts,
					    const char *name);

#endif
