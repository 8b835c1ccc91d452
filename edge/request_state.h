/* Per-request state: timing for the access log, the buffered request body
 * (capped at REQUEST_BODY_LIMIT) and the status that was sent. Created when
 * MHD has parsed the request line, released when MHD reports completion. */
#ifndef NMC_REQUEST_STATE_H
#define NMC_REQUEST_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "string_buffer.h"

#define REQUEST_BODY_LIMIT ((size_t)1048576)

struct request_state {
	double started_ms;             /* monotonic, for the duration */
	struct timespec started_wall;  /* for the log timestamp */
	bool raw_path_has_nul;  /* "%00" in the path: MHD's decoded copy is truncated */
	bool headers_seen;      /* first access-handler call has happened */
	bool body_too_large;
	unsigned int status;    /* 0 until a response is queued */
	uint64_t body_bytes;    /* the queued response's body size */
	char client[64];        /* client_address.h, for the log; "-" when unknown */
	char method[16];
	char *path;             /* decoded path without query, for the log */
	char *raw_query;        /* query string exactly as sent (webhook signatures cover it), or NULL */
	struct string_buffer body;
};

struct request_state *request_state_new(const char *raw_uri);

/* What the raw request URI (as MHD received it, before decoding) tells:
 * pure, so fuzz/fuzz_edge_request.c runs it too. "%00" in the path (MHD's
 * decoded copy of it is cut short there): */
bool raw_uri_path_has_nul(const char *raw_uri);
/* The query string exactly as sent (after the first '?'; webhook signatures
 * cover it), or NULL. */
const char *raw_uri_query(const char *raw_uri);

/* Records what the access handler learned on its first call. */
bool request_state_begin(struct request_state *rs, const char *method,
			 const char *path, const char *client);

/* Buffers body bytes; once the limit is crossed the body is dropped and
 * body_too_large set, so an oversize upload costs no more memory. Returns
 * false only when memory runs out. */
bool request_state_append_body(struct request_state *rs, const char *data,
			       size_t n);

/* Milliseconds since the request line. */
double request_state_elapsed_ms(const struct request_state *rs);

void request_state_free(struct request_state *rs);

#endif
