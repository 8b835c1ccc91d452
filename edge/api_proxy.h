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

/* A webhook route (one the database groups) answered 2xx is noted in admission (the reserve for Twilio). */
enum MHD_Result api_proxy_handle(struct MHD_Connection *conn,
				 struct request_state *rs, struct db_pool *pool,
				 const char *method, const char *path, const struct edge_config *cfg,
				 struct http_admission *admission);

#endif
