/* GET /metrics (metrics_endpoint.c): its figures are platform-wide, so no
 * tenant, and nobody from outside without a token. */
#ifndef NMC_METRICS_ENDPOINT_H
#define NMC_METRICS_ENDPOINT_H

#include <microhttpd.h>

#include "db_pool.h"
#include "request_state.h"

/* With a token (NMC_METRICS_TOKEN), whoever sends "Authorization: Bearer
 * <token>"; without one, only a client on this machine that came straight to
 * the edge (a loopback address, no X-Forwarded-For or Forwarded header).
 * Anyone else: 403. */
enum MHD_Result metrics_endpoint_handle(struct MHD_Connection *conn, struct request_state *rs,
					struct db_pool *pool, const char *token);

#endif
