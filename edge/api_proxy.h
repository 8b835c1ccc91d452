/* Requests to /api and /webhooks: forwards each one, unchanged and uninterpreted, to
 * the SQL function nmc_api.handle and sends back exactly what it returns.
 * All business logic lives in the database. */
#ifndef NMC_API_PROXY_H
#define NMC_API_PROXY_H

#include <stdbool.h>

#include <microhttpd.h>

#include "config.h"
#include "db_pool.h"
#include "request_state.h"
#include "http_admission.h"

/* The arguments of nmc_api.handle, as text: the request's seven (what the
 * spool keeps), then the edge's own document about it (JSON: its figures
 * for the status page, or when a spooled webhook arrived), which no header
 * a client sends can reach. */
#define HANDLE_NREQUEST 7
#define HANDLE_NPARAMS 8
enum handle_param {
	HANDLE_METHOD, HANDLE_PATH, HANDLE_QUERY, HANDLE_HEADERS,
	HANDLE_CLIENT_ADDR, HANDLE_BODY, HANDLE_RAW_QUERY, HANDLE_EDGE
};

/* nmc_api.handle(params) in its own transaction; as db_pool_exec. */
enum db_outcome api_handle_call(struct db_pool *pool, const char *const params[HANDLE_NPARAMS],
				PGresult **result);

/* A webhook (a path under /webhooks/) answered 2xx marks its sender's
 * address in admission (the reserve for Twilio). */
enum MHD_Result api_proxy_handle(struct MHD_Connection *conn,
				 struct request_state *rs, struct db_pool *pool,
				 const char *method, const char *path, const struct edge_config *cfg,
				 struct http_admission *admission);

#endif
