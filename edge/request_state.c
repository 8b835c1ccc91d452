/* Lifetime of per-request state, from request line to completion (where
 * http_server.c logs and counts it: only then are both the final status and
 * the full duration known). */
#include "request_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monotonic_clock.h"

bool raw_uri_path_has_nul(const char *raw_uri)
{
	if (raw_uri == NULL)
		return false;
	for (const char *p = raw_uri; *p != '\0' && *p != '?'; p++)
		if (p[0] == '%' && p[1] == '0' && p[2] == '0')
			return true;
	return false;
}

const char *raw_uri_query(const char *raw_uri)
{
	const char *q = raw_uri ? strchr(raw_uri, '?') : NULL;
	return q ? q + 1 : NULL;
}

struct request_state *request_state_new(const char *raw_uri)
{
	struct request_state *rs = calloc(1, sizeof *rs);
	if (rs == NULL)
		return NULL;
	rs->started_ms = monotonic_ms_exact();
	clock_gettime(CLOCK_REALTIME, &rs->started_wall);
	rs->raw_path_has_nul = raw_uri_path_has_nul(raw_uri);
	const char *q = raw_uri_query(raw_uri);
	if (q != NULL && (rs->raw_query = strdup(q)) == NULL) {
		free(rs);
		return NULL;
	}
	string_buffer_init(&rs->body);
	return rs;
}

bool request_state_begin(struct request_state *rs, const char *method,
			 const char *path, const char *client)
{
	rs->headers_seen = true;
	snprintf(rs->method, sizeof rs->method, "%s", method ? method : "-");
	snprintf(rs->client, sizeof rs->client, "%s", client);
	rs->path = strdup(path ? path : "-");
	return rs->path != NULL;
}

bool request_state_append_body(struct request_state *rs, const char *data,
			       size_t n)
{
	if (rs->body_too_large)
		return true;
	if (n > REQUEST_BODY_LIMIT - rs->body.len) {
		rs->body_too_large = true;
		string_buffer_free(&rs->body);
		return true;
	}
	if (!string_buffer_append(&rs->body, data, n))
		return false;
	return true;
}

double request_state_elapsed_ms(const struct request_state *rs)
{
	return monotonic_ms_exact() - rs->started_ms;
}

void request_state_free(struct request_state *rs)
{
	if (rs == NULL)
		return;
	free(rs->path);
	free(rs->raw_query);
	string_buffer_free(&rs->body);
	free(rs);
}
