/* The live feed's protocol, independent of sockets and threads: the hello
 * (ws_hello), replay of missed events page by page, fan-out of new events
 * to a business's clients, bounded queues and the close decisions.
 * Everything here runs on the WebSocket thread. */
#ifndef NMC_WS_FEED_H
#define NMC_WS_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ws_client.h"
#include "ws_db.h"
#include "ws_registry.h"

/* A client's queue past either bound is a client that is not reading:
 * it is closed with 4408 "resync" rather than buffered without limit. */
#define WS_QUEUE_MAX_FRAMES 1000
#define WS_QUEUE_MAX_BYTES (1024 * 1024)

struct ws_feed {
	struct ws_db db;
	bool db_up;
	struct ws_registry registry;
	struct ws_client *clients;          /* every open connection */
	struct ws_business *pending;        /* notified, not yet delivered */
	struct lws_context *context;
	/* Called when a query finds the database gone; the owner of the
	 * connections starts reconnecting and later calls ws_feed_resync_all. */
	void (*db_lost)(struct ws_feed *feed);
};

bool ws_feed_init(struct ws_feed *feed, const char *conninfo, const char *listen_conninfo,
		  void (*db_lost)(struct ws_feed *feed));
void ws_feed_free(struct ws_feed *feed);

void ws_feed_client_open(struct ws_feed *feed, struct ws_client *c, struct lws *wsi);
/* One received fragment; final is true on the last one of a message. */
void ws_feed_client_message(struct ws_client *c, const void *in, size_t len, bool final);
/* Writes at most one frame. Returns -1 when the connection must close now
 * (the close status and reason are already set). */
int ws_feed_client_writable(struct ws_client *c);
void ws_feed_client_closed(struct ws_client *c);

/* A notification for a business (payload: its id). Deliveries are batched:
 * call ws_feed_deliver_pending after draining the notifications. */
void ws_feed_notified(struct ws_feed *feed, const char *business_id);
void ws_feed_deliver_pending(struct ws_feed *feed);
/* After (re)connecting: hellos that waited for the database are answered
 * and every client gets what was committed meanwhile. */
void ws_feed_resync_all(struct ws_feed *feed);
/* Shutdown: close every client with 1001 "going away". */
void ws_feed_close_all(struct ws_feed *feed);

/* Clients connected now, and closed for falling behind; from any thread. */
uint64_t ws_feed_clients_connected(void);
uint64_t ws_feed_clients_dropped_slow(void);

#endif
