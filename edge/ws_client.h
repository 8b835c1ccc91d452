/* The state the feed keeps per WebSocket connection. It lives in the
 * per-session memory lws allocates and frees, and is linked into the
 * feed's list of all clients and, once authenticated, its business. */
#ifndef NMC_WS_CLIENT_H
#define NMC_WS_CLIENT_H

#include <stdbool.h>

#include <libwebsockets.h>

#include "string_buffer.h"
#include "ws_queue.h"

struct ws_feed;
struct ws_business;

enum ws_client_state {
	WS_AWAITING_HELLO,
	WS_FEEDING,
	WS_CLOSING,        /* close_status set; nothing more is queued */
};

struct ws_client {
	struct ws_feed *feed;
	struct lws *wsi;
	enum ws_client_state state;
	/* Replaying history a page at a time as the queue drains; live
	 * fan-out skips it because its next page will include those events. */
	bool behind;
	char business_id[40];
	/* Highest event queued to this client: every event is queued only if
	 * its seq is above this, which is what rules out duplicates, and
	 * events are fetched in seq order from here, which rules out gaps. */
	long long last_seq;
	struct ws_queue queue;
	struct string_buffer hello;     /* the first message, maybe fragmented */
	/* The hello arrived while the database was away: it is answered when
	 * the feed reconnects, or refused when the hello timer runs out. */
	bool hello_parked;
	int close_status;
	char close_reason[64];
	lws_sorted_usec_list_t hello_timer;

	struct ws_client *all_prev, *all_next;
	struct ws_business *business;
	struct ws_client *biz_prev, *biz_next;
};

#endif
