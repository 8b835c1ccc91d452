/* Who may read GET /metrics (metrics_access.c): its figures are platform-wide,
 * so no tenant, and nobody from outside without a token. */
#ifndef NMC_METRICS_ACCESS_H
#define NMC_METRICS_ACCESS_H

#include <stdbool.h>

#include <microhttpd.h>

/* With a token (NMC_METRICS_TOKEN), whoever sends "Authorization: Bearer
 * <token>"; without one, only a client on this machine that came straight to
 * the edge (a loopback address, no X-Forwarded-For or Forwarded header). */
bool metrics_access_allowed(struct MHD_Connection *conn, const char *token);

#endif
