/* lws context, service thread and callbacks of the feed, and the LISTEN
 * connection's life: its socket (a dup, so lws closing it never closes
 * libpq's) is adopted into the lws loop as a raw file descriptor and wakes
 * the loop when a notification arrives; after any database failure a 500 ms
 * timer reconnects, re-LISTENs and resyncs every client. Connections are
 * admitted under the HTTP port's caps (ws_admission.c) and given the same
 * deadline for their handshake, however it drips. */
#include "ws_server.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <libwebsockets.h>

#include "ws_admission.h"
#include "ws_feed.h"
#include "event_log.h"

#define PROTOCOL_NAME "nmc-feed"
#define RECONNECT_US (500 * LWS_US_PER_MS)
#define DRAIN_US (2 * LWS_US_PER_SEC)

/* libwebsockets' own errors, in the edge's log format. */
static void log_lws_line(int level, const char *line)
{
	(void)level;
	log_error("websocket: %s", line);
}

struct ws_server {
	struct ws_feed feed;
	struct lws_context *context;
	struct lws_vhost *vhost;
	pthread_t thread;
	atomic_bool stop_requested;
	bool draining;
	bool drain_expired;
	bool outage_logged;
	struct lws *listen_wsi;               /* the adopted LISTEN socket */
	bool adopting;                        /* adopting it: not a network client */
	struct ws_admission *admission;
	lws_sorted_usec_list_t reconnect_timer;
	lws_sorted_usec_list_t drain_timer;
};

/* Idle peers get a PING after 30 s and are dropped 60 s after the last
 * sign of life, so dead phones and laptops do not pile up. */
static const lws_retry_bo_t keepalive = {
	.secs_since_valid_ping = 30,
	.secs_since_valid_hangup = 60,
};

static void try_connect(struct ws_server *srv);

static void reconnect_fire(lws_sorted_usec_list_t *sul)
{
	struct ws_server *srv = lws_container_of(sul, struct ws_server, reconnect_timer);
	if (!srv->draining)
		try_connect(srv);
}

static void forget_listen_socket(struct ws_server *srv)
{
	if (srv->listen_wsi == NULL)
		return;
	/* Async: this may run inside that wsi's own callback. */
	lws_set_timeout(srv->listen_wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	srv->listen_wsi = NULL;
}

static void db_lost(struct ws_feed *feed)
{
	struct ws_server *srv = lws_container_of(feed, struct ws_server, feed);
	feed->db_up = false;
	forget_listen_socket(srv);
	ws_db_disconnect(&feed->db);
	if (!srv->outage_logged) {
		log_error("websocket feed lost the database; reconnecting every 500 ms");
		srv->outage_logged = true;
	}
	if (!srv->draining)
		lws_sul_schedule(srv->context, 0, &srv->reconnect_timer, reconnect_fire,
				 RECONNECT_US);
}

static bool watch_listen_socket(struct ws_server *srv)
{
	lws_sock_file_fd_type fd;
	fd.filefd = dup(ws_db_listen_socket(&srv->feed.db));
	if (fd.filefd < 0)
		return false;
	srv->adopting = true;
	srv->listen_wsi = lws_adopt_descriptor_vhost(srv->vhost, LWS_ADOPT_RAW_FILE_DESC,
						     fd, PROTOCOL_NAME, NULL);
	srv->adopting = false;
	return srv->listen_wsi != NULL;
}

static void try_connect(struct ws_server *srv)
{
	char why[256] = "";
	if (!ws_db_connect(&srv->feed.db, why, sizeof why) || !watch_listen_socket(srv)) {
		ws_db_disconnect(&srv->feed.db);
		if (!srv->outage_logged) {
			log_error("websocket feed: database unavailable (%s); "
				"retrying every 500 ms", why[0] ? why : "cannot watch its socket");
			srv->outage_logged = true;
		}
		lws_sul_schedule(srv->context, 0, &srv->reconnect_timer, reconnect_fire,
				 RECONNECT_US);
		return;
	}
	if (srv->outage_logged) {
		log_info("websocket feed: database reachable again");
		srv->outage_logged = false;
	}
	srv->feed.db_up = true;
	/* Notifications sent while nobody listened are gone; the table is not. */
	ws_feed_resync_all(&srv->feed);
}

static void collect_notification(const char *payload, void *arg)
{
	ws_feed_notified(arg, payload);
}

static int listen_socket_readable(struct ws_server *srv, struct lws *wsi)
{
	if (wsi != srv->listen_wsi)
		return -1;   /* a socket of a connection already given up */
	bool alive = ws_db_drain_notifications(&srv->feed.db, collect_notification,
					       &srv->feed);
	if (!alive) {
		db_lost(&srv->feed);
		return -1;
	}
	ws_feed_deliver_pending(&srv->feed);
	return wsi == srv->listen_wsi ? 0 : -1;
}

static void drain_fire(lws_sorted_usec_list_t *sul)
{
	struct ws_server *srv = lws_container_of(sul, struct ws_server, drain_timer);
	srv->drain_expired = true;
}

static void begin_drain(struct ws_server *srv)
{
	srv->draining = true;
	lws_sul_cancel(&srv->reconnect_timer);
	ws_feed_close_all(&srv->feed);
	lws_sul_schedule(srv->context, 0, &srv->drain_timer, drain_fire, DRAIN_US);
}

static bool path_is_feed(struct lws *wsi)
{
	char uri[16];
	return lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) > 0 &&
	       strcmp(uri, "/ws") == 0;
}

/* A network client just accepted: counted against its address until its
 * wsi is destroyed (the address rides along as the wsi's opaque data). */
static void client_admitted(struct ws_server *srv, struct lws *wsi)
{
	struct sockaddr_storage *peer = calloc(1, sizeof *peer);
	socklen_t len = sizeof *peer;
	if (peer == NULL || getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)peer, &len) != 0) {
		free(peer);
		return;
	}
	ws_admission_count(srv->admission, (struct sockaddr *)peer);
	lws_set_opaque_user_data(wsi, peer);
}

static void client_gone(struct ws_server *srv, struct lws *wsi)
{
	struct sockaddr_storage *peer = lws_get_opaque_user_data(wsi);
	if (peer == NULL)
		return;
	ws_admission_release(srv->admission, (struct sockaddr *)peer);
	lws_set_opaque_user_data(wsi, NULL);
	free(peer);
}

static int feed_callback(struct lws *wsi, enum lws_callback_reasons reason,
			 void *user, void *in, size_t len)
{
	struct ws_server *srv = lws_context_user(lws_get_context(wsi));
	struct ws_client *c = user;

	switch (reason) {
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION: {
		const struct lws_filter_network_conn_args *f = user;
		return ws_admission_allows(srv->admission, (const struct sockaddr *)&f->cli_addr) ? 0 : 1;
	}
	case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
		if (!srv->adopting)
			client_admitted(srv, wsi);
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		client_gone(srv, wsi);
		return 0;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return path_is_feed(wsi) ? 0 : 1;
	case LWS_CALLBACK_HTTP:
		/* Only the WebSocket lives on this port. */
		lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
		return -1;
	case LWS_CALLBACK_ESTABLISHED:
		ws_feed_client_open(&srv->feed, c, wsi);
		if (srv->draining)
			ws_feed_close_all(&srv->feed);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		ws_feed_client_message(c, in, len, lws_is_final_fragment(wsi) &&
				       lws_remaining_packet_payload(wsi) == 0);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return ws_feed_client_writable(c);
	case LWS_CALLBACK_CLOSED:
		ws_feed_client_closed(c);
		return 0;
	case LWS_CALLBACK_RAW_RX_FILE:
		return listen_socket_readable(srv, wsi);
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (wsi == srv->listen_wsi)
			srv->listen_wsi = NULL;
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (atomic_load(&srv->stop_requested) && !srv->draining)
			begin_drain(srv);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols protocols[] = {
	{ PROTOCOL_NAME, feed_callback, sizeof(struct ws_client), 4096, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void *service_thread(void *arg)
{
	struct ws_server *srv = arg;
	try_connect(srv);
	for (;;) {
		if (atomic_load(&srv->stop_requested) && !srv->draining)
			begin_drain(srv);
		if (srv->draining && (srv->feed.clients == NULL || srv->drain_expired))
			break;
		if (lws_service(srv->context, 0) < 0)
			break;
	}
	lws_sul_cancel(&srv->reconnect_timer);
	lws_sul_cancel(&srv->drain_timer);
	return NULL;
}

/* Off the service thread (never started, or returned): clients still open
 * are closed (and their callbacks run) by the context's destruction. */
static void release(struct ws_server *srv)
{
	if (srv->context != NULL)
		lws_context_destroy(srv->context);
	ws_feed_free(&srv->feed);
	ws_admission_free(srv->admission);
	free(srv);
}

struct ws_server *ws_server_start(const struct edge_config *cfg)
{
	struct ws_server *srv = calloc(1, sizeof *srv);
	if (srv == NULL) {
		log_error("out of memory starting the websocket feed");
		return NULL;
	}
	atomic_init(&srv->stop_requested, false);
	bool fed = ws_feed_init(&srv->feed, cfg->db_conninfo, cfg->listen_conninfo, db_lost);
	srv->admission = ws_admission_new(cfg->max_connections, cfg->max_connections_per_client);
	if (!fed || srv->admission == NULL) {
		log_error("out of memory starting the websocket feed");
		release(srv);
		return NULL;
	}

	lws_set_log_level(LLL_ERR, log_lws_line);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = cfg->ws_port;
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
	/* NULL: every address; else that address (lws binds a literal address
	 * only on a socket of its family). */
	info.iface = cfg->listen_address;
	if (cfg->listen_address != NULL && strchr(cfg->listen_address, ':') == NULL)
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.protocols = protocols;
	info.retry_and_idle_policy = &keepalive;
	/* The handshake's deadline, from the connection's start (lws does not
	 * restart it per byte); idle clients are the keepalive policy's. */
	info.timeout_secs = cfg->head_deadline_seconds;
	info.timeout_secs_ah_idle = cfg->head_deadline_seconds;
	info.fd_limit_per_thread = cfg->max_connections + 64;
	info.gid = -1;
	info.uid = -1;
	info.user = srv;
	srv->context = lws_create_context(&info);
	if (srv->context != NULL)
		srv->vhost = lws_get_vhost_by_name(srv->context, "default");
	if (srv->context == NULL || srv->vhost == NULL) {
		log_error("cannot start the websocket feed on %s port %u",
			  cfg->listen_address ? cfg->listen_address : "every address",
			  (unsigned int)cfg->ws_port);
		release(srv);
		return NULL;
	}
	srv->feed.context = srv->context;

	if (pthread_create(&srv->thread, NULL, service_thread, srv) != 0) {
		log_error("cannot start the websocket thread");
		release(srv);
		return NULL;
	}
	return srv;
}

void ws_server_stop(struct ws_server *srv)
{
	if (srv == NULL)
		return;
	atomic_store(&srv->stop_requested, true);
	lws_cancel_service(srv->context);
	pthread_join(srv->thread, NULL);
	release(srv);
}
