/* The text the edge hands to PostgreSQL and to clients: UTF-8 as PostgreSQL
 * understands it (no NUL, no overlong forms, no surrogates, nothing above
 * U+10FFFF), JSON string literals, the flat query and header objects
 * api_proxy.c passes to nmc_api.handle, and the edge's own error objects.
 * Pure (no libmicrohttpd), so fuzz/fuzz_edge_request.c runs the same code. */
#ifndef NMC_JSON_TEXT_H
#define NMC_JSON_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "string_buffer.h"

/* Length (1-4) of the well-formed, non-NUL sequence starting at s, or 0. */
size_t utf8_sequence_length(const unsigned char *s, size_t n);
/* True when all n bytes are well-formed UTF-8 without NUL bytes. */
bool utf8_is_valid_text(const char *s, size_t n);

/* Appends s as a quoted JSON string. Bytes that are not valid UTF-8 become
 * U+FFFD so the result is always accepted by PostgreSQL's jsonb input. */
bool json_escape_append(struct string_buffer *sb, const char *s);
/* Appends {"error":{"code":…,"message":…}}, the shape of every error the
 * edge writes itself (HTTP bodies and live-feed refusals alike). */
bool json_error_append(struct string_buffer *sb, const char *code, const char *message);

/* A flat JSON object of string members, built from name/value pairs. */
struct json_object_builder {
	struct string_buffer sb;
	bool lowercase_keys;
	bool first;
};

void json_object_begin(struct json_object_builder *b, bool lowercase_keys);
/* A NULL value ("?flag" without "=") becomes the empty string. */
void json_object_add(struct json_object_builder *b, const char *key, const char *value);
/* Closes the object into out (which the caller frees); false if memory ran out. */
bool json_object_finish(struct json_object_builder *b, struct string_buffer *out);

#endif
