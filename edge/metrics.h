/* Prometheus metrics of the edge: requests by route and status with latency
 * histograms, live-feed clients, NOTIFY-to-send latency, and (from the
 * database, nmc_api.metrics()) jobs by state. Served at GET /metrics. */
#ifndef NMC_METRICS_H
#define NMC_METRICS_H

#include <microhttpd.h>

#include "db_pool.h"
#include "request_state.h"

double metrics_now_ms(void);
void metrics_observe_request(const char *method, const char *path, unsigned int status, double ms);
void metrics_observe_notify_to_send(double ms);
enum MHD_Result metrics_handle(struct MHD_Connection *conn, struct request_state *rs, struct db_pool *pool);

#endif
