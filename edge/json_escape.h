/* Encoding of C strings as JSON string literals, used to build the query
 * and header objects passed to nmc_api.handle and the edge's own errors. */
#ifndef NMC_JSON_ESCAPE_H
#define NMC_JSON_ESCAPE_H

#include <stdbool.h>

#include "string_buffer.h"

/* Appends s as a quoted JSON string. Bytes that are not valid UTF-8 become
 * U+FFFD so the result is always accepted by PostgreSQL's jsonb input. */
bool json_escape_append(struct string_buffer *sb, const char *s);

/* Appends {"error":{"code":…,"message":…}}, the shape of every error the
 * edge writes itself (HTTP bodies and live-feed refusals alike). */
bool json_error_append(struct string_buffer *sb, const char *code, const char *message);

#endif
