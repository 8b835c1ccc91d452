/* A flat JSON object of string members built from name/value pairs (the
 * query and header objects api_proxy.c passes to nmc_api.handle), without
 * libmicrohttpd so fuzz/fuzz_edge_request.c builds them the same way. */
#ifndef NMC_JSON_OBJECT_H
#define NMC_JSON_OBJECT_H

#include <stdbool.h>

#include "string_buffer.h"

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
