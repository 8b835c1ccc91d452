/* Index of authenticated feed clients by business, so a notification for
 * one business touches only its own sockets (thousands of clients over
 * hundreds of businesses). Used by the WebSocket thread only. */
#ifndef NMC_WS_REGISTRY_H
#define NMC_WS_REGISTRY_H

#include <stdbool.h>

#include "ws_client.h"

#define WS_REGISTRY_BUCKETS 1024

struct ws_business {
	char id[40];
	struct ws_client *clients;
	unsigned int count;
	bool pending;                   /* in the current notification batch */
	double notified_ms;             /* monotonic ms the batch's first NOTIFY arrived */
	struct ws_business *next_pending;
	struct ws_business *next;       /* hash chain */
};

struct ws_registry {
	struct ws_business *buckets[WS_REGISTRY_BUCKETS];
};

struct ws_business *ws_registry_find(struct ws_registry *reg, const char *id);
/* Adds c under c->business_id. Returns false when out of memory. */
bool ws_registry_join(struct ws_registry *reg, struct ws_client *c);
/* Removes c (if it joined); frees its business when it was the last. */
void ws_registry_leave(struct ws_registry *reg, struct ws_client *c);
void ws_registry_each(struct ws_registry *reg,
		      void (*fn)(struct ws_business *b, void *arg), void *arg);
void ws_registry_free(struct ws_registry *reg);

#endif
