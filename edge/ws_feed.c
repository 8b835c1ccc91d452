/* Feed protocol. The invariant that makes resume and live delivery exact:
 * a client's events are only ever read from the table in seq order after
 * its last_seq, never taken from the notification itself, so a lost or
 * merged notification can delay an event but never drop or repeat one. */
#include "ws_feed.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_text.h"
#include "metrics.h"
#include "monotonic_clock.h"
#include "ws_hello.h"
#include "event_log.h"

#define HELLO_TIMEOUT_US (10 * LWS_US_PER_SEC)
#define REPLAY_PAGE "500"
#define REPLAY_PAGE_ROWS 500
#define LIVE_PAGE "1000"
#define LIVE_PAGE_ROWS 1000
/* Businesses read together in one ws_events_many round trip. */
#define LIVE_GROUP 64
/* How long a closing client may take to accept its close frame. */
#define CLOSE_GRACE_SECS 10

#define CLOSE_BAD_HELLO 4400
#define CLOSE_AUTH 4401
#define CLOSE_SLOW 4408
#define CLOSE_RESYNC 4409
#define CLOSE_TRY_AGAIN_LATER 1013

/* Read from any thread (/metrics, the status page); relaxed atomics are
 * enough: each is read on its own and orders nothing. */
static atomic_uint_fast64_t clients_connected, clients_dropped_slow;

uint64_t ws_feed_clients_connected(void) { return atomic_load_explicit(&clients_connected, memory_order_relaxed); }
uint64_t ws_feed_clients_dropped_slow(void) { return atomic_load_explicit(&clients_dropped_slow, memory_order_relaxed); }

static const char events_sql[] =
	"SELECT seq, frame FROM nmc_api.ws_events($1::uuid, $2::bigint, $3::int)";
static const char events_many_sql[] =
	"SELECT business_id, seq, frame FROM nmc_api.ws_events_many($1::uuid[], $2::bigint[], $3::int)";
static const char hello_sql[] =
	"SELECT business_id, resume_after, error_code, error_message "
	"FROM nmc_api.ws_hello($1)";

bool ws_feed_init(struct ws_feed *feed, const char *conninfo, const char *listen_conninfo,
		  void (*db_lost)(struct ws_feed *feed))
{
	memset(feed, 0, sizeof *feed);
	feed->db_lost = db_lost;
	return ws_db_init(&feed->db, conninfo, listen_conninfo);
}

void ws_feed_free(struct ws_feed *feed)
{
	ws_registry_free(&feed->registry);
	ws_db_free(&feed->db);
}

static void database_failed(struct ws_feed *feed)
{
	if (feed->db_up)
		feed->db_lost(feed);
}

static void log_query_error(const char *what, PGresult *res)
{
	const char *msg = res != NULL ? PQresultErrorMessage(res) : "no result";
	log_error("websocket feed: %s failed: %s", what, msg);
}

/* Marks the client closing; the close frame goes out from its writable
 * callback once what is queued (an error frame) has been sent. Dropping
 * the queue is for clients that will not read it anyway. */
static void close_client(struct ws_client *c, int status, const char *reason,
			 bool drop_queue)
{
	if (c->state == WS_CLOSING && !drop_queue)
		return;
	lws_sul_cancel(&c->hello_timer);
	c->state = WS_CLOSING;
	c->close_status = status;
	snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
	if (drop_queue)
		ws_queue_clear(&c->queue);
	/* A peer that stopped reading may never make room for the close
	 * frame; the keepalive would drop it only after a minute. */
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, CLOSE_GRACE_SECS);
	lws_callback_on_writable(c->wsi);
}

static void push_frame(struct ws_client *c, const char *text, size_t len, double notified_ms)
{
	if (!ws_queue_push(&c->queue, text, len, notified_ms)) {
		close_client(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "out_of_memory", true);
		return;
	}
	lws_callback_on_writable(c->wsi);
}

static void push_event(struct ws_client *c, long long seq, const char *frame, size_t len, double notified_ms)
{
	if (c->queue.frames >= WS_QUEUE_MAX_FRAMES ||
	    c->queue.bytes + len > WS_QUEUE_MAX_BYTES) {
		atomic_fetch_add_explicit(&clients_dropped_slow, 1, memory_order_relaxed);
		close_client(c, CLOSE_SLOW, "resync", true);
		return;
	}
	push_frame(c, frame, len, notified_ms);
	c->last_seq = seq;
}

static void refuse(struct ws_client *c, int status, const char *code, const char *message)
{
	struct string_buffer sb;
	string_buffer_init(&sb);
	if (json_error_append(&sb, code, message))
		push_frame(c, sb.data, sb.len, 0);
	string_buffer_free(&sb);
	close_client(c, status, code, false);
}

/* Queues the client's next page of history. Only called with an empty
 * queue, so a replay never approaches the slow-client bound; on failure it
 * stays behind, and resync_all or the next write retries. */
static void catch_up(struct ws_client *c)
{
	char after[24];
	snprintf(after, sizeof after, "%lld", c->last_seq);
	const char *params[3] = { c->business_id, after, REPLAY_PAGE };
	PGresult *res;
	enum db_outcome outcome = ws_db_exec(&c->feed->db, events_sql, 3, params, &res);
	int rows = outcome == DB_OK ? PQntuples(res) : 0;
	if (outcome == DB_UNAVAILABLE)
		database_failed(c->feed);
	else if (outcome != DB_OK)
		log_query_error("ws_events", res);
	for (int i = 0; i < rows && c->state == WS_FEEDING; i++) {
		long long seq = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		if (seq > c->last_seq)
			push_event(c, seq, PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1), 0);
	}
	if (outcome == DB_OK && rows < REPLAY_PAGE_ROWS)
		c->behind = false;
	PQclear(res);
}

static bool takes_live(const struct ws_client *c)
{
	return c->state == WS_FEEDING && !c->behind;
}

/* Where a business's live clients stand: the furthest-behind one's mark, or
 * LLONG_MAX when none takes live events. */
static long long live_mark(const struct ws_business *b)
{
	long long after = LLONG_MAX;
	for (const struct ws_client *c = b->clients; c; c = c->biz_next)
		if (takes_live(c) && c->last_seq < after)
			after = c->last_seq;
	return after;
}

/* One event to each of the business's live clients that has not had it. */
static void push_live(struct ws_business *b, const PGresult *res, int row, int seq_col, int frame_col)
{
	long long seq = strtoll(PQgetvalue(res, row, seq_col), NULL, 10);
	const char *frame = PQgetvalue(res, row, frame_col);
	size_t len = (size_t)PQgetlength(res, row, frame_col);
	for (struct ws_client *c = b->clients; c; c = c->biz_next)
		if (takes_live(c) && seq > c->last_seq)
			push_event(c, seq, frame, len, b->notified_ms);
}

/* Several notified businesses in one round trip (ws_events_many): while the
 * query runs no frame is written, so one query instead of one per business
 * keeps a burst of notifications from queueing behind each other. A business
 * with a full page waiting reads the rest on its own (from the mark its
 * clients have reached since). */
static void deliver_group(struct ws_feed *feed, struct ws_business **group, const long long *after, int n);

/* One read of the table serves all of the business's live clients, from
 * the furthest-behind one on; each gets only what is past its own mark. */
static void deliver_business(struct ws_feed *feed, struct ws_business *b)
{
	long long after = live_mark(b);
	if (after != LLONG_MAX)
		deliver_group(feed, &b, &after, 1);
}

static void deliver_group(struct ws_feed *feed, struct ws_business **group, const long long *after, int n)
{
	struct string_buffer ids, marks;
	string_buffer_init(&ids);
	string_buffer_init(&marks);
	for (int k = 0; k < n; k++) {
		char mark[24];
		snprintf(mark, sizeof mark, "%lld", after[k]);
		string_buffer_append_char(&ids, k ? ',' : '{');
		string_buffer_append_str(&ids, group[k]->id);
		string_buffer_append_char(&marks, k ? ',' : '{');
		string_buffer_append_str(&marks, mark);
	}
	string_buffer_append_char(&ids, '}');
	string_buffer_append_char(&marks, '}');
	PGresult *res = NULL;
	enum db_outcome outcome = DB_QUERY_ERROR;
	if (!ids.failed && !marks.failed) {
		const char *params[3] = { ids.data, marks.data, LIVE_PAGE };
		outcome = ws_db_exec(&feed->db, events_many_sql, 3, params, &res);
	}
	string_buffer_free(&ids);
	string_buffer_free(&marks);
	if (outcome == DB_UNAVAILABLE) {
		PQclear(res);
		database_failed(feed);
		return;
	}
	if (outcome != DB_OK) {
		log_query_error("ws_events_many", res);
		PQclear(res);
		for (int k = 0; k < n && n > 1; k++)
			deliver_business(feed, group[k]);
		return;
	}
	int rows = PQntuples(res), k = 0, in_page = 0;
	for (int i = 0; i < rows; i++) {
		const char *id = PQgetvalue(res, i, 0);
		while (k < n && strcmp(group[k]->id, id) != 0) {
			if (in_page >= LIVE_PAGE_ROWS)
				deliver_business(feed, group[k]);
			k++;
			in_page = 0;
		}
		if (k == n)
			break;   /* not a business asked for: cannot happen */
		push_live(group[k], res, i, 1, 2);
		in_page++;
	}
	if (k < n && in_page >= LIVE_PAGE_ROWS)
		deliver_business(feed, group[k]);
	PQclear(res);
}

static void handle_hello(struct ws_client *c)
{
	struct ws_feed *feed = c->feed;
	c->hello_parked = true;
	if (!feed->db_up)
		return;   /* ws_feed_resync_all answers it after reconnecting */
	const char *params[1] = { c->hello.data != NULL ? c->hello.data : "" };
	PGresult *res;
	enum db_outcome outcome = ws_db_exec(&feed->db, hello_sql, 1, params, &res);
	if (outcome == DB_UNAVAILABLE) {
		database_failed(feed);
		return;
	}
	c->hello_parked = false;
	lws_sul_cancel(&c->hello_timer);
	string_buffer_free(&c->hello);

	if (outcome != DB_OK || PQntuples(res) != 1) {
		log_query_error("ws_hello", res);
		refuse(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "internal_error",
		       "the hello could not be checked");
	} else if (!PQgetisnull(res, 0, 2)) {
		const char *code = PQgetvalue(res, 0, 2);
		int status = strcmp(code, "resync") == 0 ? CLOSE_RESYNC :
			     strcmp(code, "bad_hello") == 0 ? CLOSE_BAD_HELLO : CLOSE_AUTH;
		refuse(c, status, code, PQgetvalue(res, 0, 3));
	} else {
		snprintf(c->business_id, sizeof c->business_id, "%s", PQgetvalue(res, 0, 0));
		c->last_seq = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		char hello[128];
		int n = snprintf(hello, sizeof hello,
				 "{\"type\":\"hello\",\"business_id\":\"%s\",\"resume_after\":%lld}",
				 c->business_id, c->last_seq);
		if (!ws_registry_join(&feed->registry, c)) {
			close_client(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "out_of_memory", true);
		} else {
			c->state = WS_FEEDING;
			c->behind = true;
			push_frame(c, hello, (size_t)n, 0);
			catch_up(c);
		}
	}
	PQclear(res);
}

static void hello_timeout(lws_sorted_usec_list_t *sul)
{
	struct ws_client *c = lws_container_of(sul, struct ws_client, hello_timer);
	if (c->state != WS_AWAITING_HELLO)
		return;
	if (c->hello_parked)
		refuse(c, CLOSE_TRY_AGAIN_LATER, "database_unavailable",
		       "the database is unavailable; reconnect shortly");
	else
		close_client(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "hello expected", true);
}

void ws_feed_client_open(struct ws_feed *feed, struct ws_client *c, struct lws *wsi)
{
	memset(c, 0, sizeof *c);
	c->feed = feed;
	c->wsi = wsi;
	c->state = WS_AWAITING_HELLO;
	string_buffer_init(&c->hello);
	c->all_next = feed->clients;
	if (feed->clients != NULL)
		feed->clients->all_prev = c;
	feed->clients = c;
	lws_sul_schedule(feed->context, 0, &c->hello_timer, hello_timeout, HELLO_TIMEOUT_US);
	atomic_fetch_add_explicit(&clients_connected, 1, memory_order_relaxed);
}

void ws_feed_client_message(struct ws_client *c, const void *in, size_t len, bool final)
{
	/* The feed is one-way after the hello; later messages are ignored. */
	if (c->state != WS_AWAITING_HELLO || c->hello_parked)
		return;
	switch (ws_hello_receive(&c->hello, in, len, final)) {
	case WS_HELLO_MORE:
		break;
	case WS_HELLO_COMPLETE:
		handle_hello(c);
		break;
	case WS_HELLO_TOO_LONG:
		refuse(c, CLOSE_BAD_HELLO, "bad_hello", "the first message is too long");
		break;
	case WS_HELLO_NO_MEMORY:
		close_client(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "out_of_memory", true);
		break;
	}
}

int ws_feed_client_writable(struct ws_client *c)
{
	size_t len;
	unsigned char *text = ws_queue_peek(&c->queue, &len);
	if (text != NULL) {
		double notified_ms = ws_queue_peek_notified_ms(&c->queue);
		if (lws_write(c->wsi, text, len, LWS_WRITE_TEXT) < (int)len)
			return -1;
		if (notified_ms > 0)
			metrics_observe_notify_to_send(monotonic_ms_exact() - notified_ms);
		ws_queue_pop(&c->queue);
		if (c->queue.head == NULL && c->state == WS_FEEDING && c->behind)
			catch_up(c);
		/* The close frame, if due, goes out on the next callback so it
		 * never shares a writable slot with a data frame. */
		if (c->queue.head != NULL || c->state == WS_CLOSING)
			lws_callback_on_writable(c->wsi);
		return 0;
	}
	if (c->state == WS_CLOSING) {
		lws_close_reason(c->wsi, (enum lws_close_status)c->close_status,
				 (unsigned char *)c->close_reason, strlen(c->close_reason));
		return -1;
	}
	return 0;
}

void ws_feed_client_closed(struct ws_client *c)
{
	struct ws_feed *feed = c->feed;
	if (feed == NULL)
		return;
	lws_sul_cancel(&c->hello_timer);
	ws_registry_leave(&feed->registry, c);
	if (c->all_prev != NULL)
		c->all_prev->all_next = c->all_next;
	else
		feed->clients = c->all_next;
	if (c->all_next != NULL)
		c->all_next->all_prev = c->all_prev;
	ws_queue_clear(&c->queue);
	string_buffer_free(&c->hello);
	c->feed = NULL;
	atomic_fetch_sub_explicit(&clients_connected, 1, memory_order_relaxed);
}

void ws_feed_notified(struct ws_feed *feed, const char *business_id)
{
	struct ws_business *b = ws_registry_find(&feed->registry, business_id);
	if (b == NULL || b->pending)
		return;
	b->pending = true;
	b->notified_ms = monotonic_ms_exact();
	b->next_pending = feed->pending;
	feed->pending = b;
}

void ws_feed_deliver_pending(struct ws_feed *feed)
{
	while (feed->pending != NULL) {
		struct ws_business *group[LIVE_GROUP];
		long long after[LIVE_GROUP];
		int n = 0;
		while (feed->pending != NULL && n < LIVE_GROUP) {
			struct ws_business *b = feed->pending;
			feed->pending = b->next_pending;
			b->pending = false;
			b->next_pending = NULL;
			long long mark = live_mark(b);
			if (mark != LLONG_MAX) {
				group[n] = b;
				after[n++] = mark;
			}
		}
		if (n > 0)
			deliver_group(feed, group, after, n);
	}
}

static void resync_business(struct ws_business *b, void *arg)
{
	struct ws_feed *feed = arg;
	for (struct ws_client *c = b->clients; c; c = c->biz_next)
		if (c->state == WS_FEEDING && c->behind && c->queue.head == NULL)
			catch_up(c);
	deliver_business(feed, b);
}

void ws_feed_resync_all(struct ws_feed *feed)
{
	for (struct ws_client *c = feed->clients; c && feed->db_up; c = c->all_next)
		if (c->state == WS_AWAITING_HELLO && c->hello_parked)
			handle_hello(c);
	ws_registry_each(&feed->registry, resync_business, feed);
}

void ws_feed_close_all(struct ws_feed *feed)
{
	for (struct ws_client *c = feed->clients; c; c = c->all_next)
		close_client(c, LWS_CLOSE_STATUS_GOINGAWAY, "going away", true);
}
