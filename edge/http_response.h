/* The single exit for every response the edge sends: it adds the headers
 * all responses carry, records the status for the access log, and builds
 * the edge's own JSON error bodies. */
#ifndef NMC_HTTP_RESPONSE_H
#define NMC_HTTP_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "request_state.h"

/* Queues resp (which may be NULL after a failed allocation) and releases
 * the caller's reference to it; body_bytes (its body's size) is logged. */
enum MHD_Result http_reply(struct MHD_Connection *conn, struct request_state *rs,
			   unsigned int status, struct MHD_Response *resp,
			   uint64_t body_bytes);

/* json must be a string literal or otherwise outlive the response. */
enum MHD_Result http_reply_static_json(struct MHD_Connection *conn,
				       struct request_state *rs,
				       unsigned int status, const char *json);

/* {"error":{"code":...,"message":...}} with Content-Type application/json,
 * for callers that need to add headers before http_reply; its size in *bytes. */
struct MHD_Response *http_error_response(const char *code, const char *message, size_t *bytes);

/* Builds the error response above and queues it. */
enum MHD_Result http_reply_error(struct MHD_Connection *conn,
				 struct request_state *rs, unsigned int status,
				 const char *code, const char *message);

#endif
