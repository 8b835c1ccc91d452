/* Prometheus figures of the edge (metrics.c): requests by route and status
 * with latency histograms, NOTIFY-to-send latency, and the figures other
 * modules register (feed clients, the spool). A leaf: it
 * knows none of them; metrics_endpoint.c serves GET /metrics. */
#ifndef NMC_METRICS_H
#define NMC_METRICS_H

#include <stdint.h>

#include "string_buffer.h"

void metrics_observe_request(const char *method, const char *path, unsigned int status, double ms);
void metrics_observe_notify_to_send(double ms);

/* Registers a figure read at every scrape (type: "counter" or "gauge"). Call
 * before the server threads start (main.c); the strings must outlive them. */
void metrics_add_figure(const char *name, const char *type, const char *help, uint64_t (*read)(void));

/* The edge's figures in Prometheus' text format. */
void metrics_render(struct string_buffer *sb);

#endif
