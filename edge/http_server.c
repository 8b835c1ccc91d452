/* MHD integration. MHD calls the access handler once when headers are in,
 * once per body chunk, and once more when the body is complete; the edge
 * only routes on that last call, when the whole body is buffered. */
#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "access_log.h"
#include "api_proxy.h"
#include "client_address.h"
#include "http_admission.h"
#include "metrics.h"
#include "request_deadline.h"
#include "metrics_endpoint.h"
#include "http_response.h"
#include "request_state.h"
#include "static_files.h"
#include "event_log.h"

#define DRAIN_TIMEOUT_MS 5000
#define DRAIN_POLL_MS 20
#define IDLE_CONNECTION_TIMEOUT_S 60

struct http_server {
	struct MHD_Daemon *daemon;
	const struct edge_config *cfg;
	struct db_pool *pool;
	struct request_deadline *deadline;
	struct http_admission *admission;
	atomic_uint in_flight;  /* requests between request line and completion */
};

/* Before a connection is accepted: the last cfg->twilio_reserve places are
 * kept for addresses Twilio's webhooks came from within the hour, so a flood
 * from many addresses cannot shut out the missed calls. */
static enum MHD_Result admit(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct http_server *srv = cls;
	(void)addrlen;
	return http_admission_take(srv->admission, addr) ? MHD_YES : MHD_NO;
}

/* Counts open connections, and lets the deadline watchdog track them. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *srv = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		http_admission_started(srv->admission);
	else if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
		http_admission_closed(srv->admission);
	request_deadline_notify(srv->deadline, conn, socket_context, toe);
}

static void *on_request_line(void *cls, const char *uri,
			     struct MHD_Connection *conn)
{
	struct http_server *srv = cls;
	request_deadline_request_line(srv->deadline, conn);
	/* NULL is tolerated: the access handler then refuses the request. */
	struct request_state *rs = request_state_new(uri);
	if (rs != NULL)
		atomic_fetch_add(&srv->in_flight, 1);
	return rs;
}

static void on_completed(void *cls, struct MHD_Connection *conn,
			 void **req_cls, enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	(void)conn;
	(void)toe;
	struct request_state *rs = *req_cls;
	if (rs == NULL)
		return;
	/* A connection that never produced a request (client vanished while
	 * sending headers, malformed header block answered by MHD itself) has
	 * no method or status worth logging. */
	if (rs->headers_seen) {
		double ms = request_state_elapsed_ms(rs);
		access_log_write(rs, ms);
		metrics_observe_request(rs->method, rs->path, rs->status, ms);
	}
	request_state_free(rs);
	*req_cls = NULL;
	atomic_fetch_sub(&srv->in_flight, 1);
}

/* MHD's own diagnostics (malformed requests, socket errors) go to the
 * error log with the edge's own messages, one line each. */
static void log_mhd_message(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	(void)cls;
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t len = strlen(msg);
	while (len > 0 && msg[len - 1] == '\n')
		msg[--len] = '\0';
	log_error("http: %s", msg);
}

static bool declared_length_too_large(struct MHD_Connection *conn)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl == NULL)
		return false;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(cl, &end, 10);
	/* A malformed value is MHD's to reject; only a well-formed oversize
	 * one is ours to answer early. */
	if (end == cl)
		return false;
	return errno == ERANGE || n > REQUEST_BODY_LIMIT;
}

static enum MHD_Result reply_too_large(struct MHD_Connection *conn,
				       struct request_state *rs)
{
	return http_reply_error(conn, rs, MHD_HTTP_CONTENT_TOO_LARGE,
				"payload_too_large",
				"request body exceeds the 1 MiB limit");
}

/* /healthz answers from a real round trip through the pool, so it also
 * exercises (and repairs) pooled connections after a database restart. */
static enum MHD_Result health_check(struct MHD_Connection *conn, struct request_state *rs,
				    struct db_pool *pool)
{
	PGresult *res;
	enum db_outcome outcome = db_pool_exec(pool, "SELECT 1", 0, NULL, NULL, &res);
	PQclear(res);
	if (outcome == DB_OK)
		return http_reply_static_json(conn, rs, MHD_HTTP_OK, "{\"status\":\"ok\"}");
	return http_reply_static_json(conn, rs, MHD_HTTP_SERVICE_UNAVAILABLE, "{\"status\":\"unavailable\"}");
}

/* The JSON API and Twilio's webhooks: both answered by nmc_api.handle. */
static bool is_sql_path(const char *path)
{
	return strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0 ||
	       strncmp(path, "/webhooks/", 10) == 0;
}

static enum MHD_Result route(struct http_server *srv, struct MHD_Connection *conn,
			     struct request_state *rs, const char *method,
			     const char *path)
{
	if (rs->raw_path_has_nul)
		return http_reply_error(conn, rs, MHD_HTTP_BAD_REQUEST, "bad_path",
					"the request path is not allowed");
	if (strcmp(path, "/healthz") == 0 &&
	    (strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
	     strcmp(method, MHD_HTTP_METHOD_HEAD) == 0))
		return health_check(conn, rs, srv->pool);
	if (strcmp(path, "/metrics") == 0 && strcmp(method, MHD_HTTP_METHOD_GET) == 0) {
		return metrics_endpoint_handle(conn, rs, srv->pool, srv->cfg->metrics_token);
	}
	if (is_sql_path(path))
		return api_proxy_handle(conn, rs, srv->pool, method, path, srv->cfg, srv->admission);
	return static_files_handle(conn, rs, srv->cfg->dashboard_dir, method, path);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct http_server *srv = cls;
	struct request_state *rs = *req_cls;
	(void)version;

	if (rs == NULL)
		return MHD_NO;

	if (!rs->headers_seen) {
		request_deadline_head_done(srv->deadline, conn);
		char client[sizeof rs->client];
		if (!client_address(conn, srv->cfg->trusted_proxies, client, sizeof client))
			snprintf(client, sizeof client, "-");
		if (!request_state_begin(rs, method, url, client))
			return MHD_NO;
		/* Answering now, before any body is read, means MHD never sends
		 * "100 Continue" and closes the connection instead of reading
		 * the oversize upload. */
		if (declared_length_too_large(conn)) {
			rs->body_too_large = true;
			return reply_too_large(conn, rs);
		}
		return MHD_YES;
	}

	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (rs->status == 0 && !request_state_append_body(rs, upload_data, n))
			return MHD_NO;
		return MHD_YES;
	}

	request_deadline_body_done(conn);
	if (rs->status != 0)
		return MHD_YES;
	if (rs->body_too_large)
		return reply_too_large(conn, rs);
	return route(srv, conn, rs, method, url);
}

/* NMC_LISTEN_ADDRESS as MHD wants it: a socket address with the port, and
 * MHD_USE_IPv6 for an IPv6 one; NULL when no address is set. config.c has
 * checked that the address parses. */
static const struct sockaddr *listen_address(const struct edge_config *cfg,
					     struct sockaddr_storage *ss, unsigned int *flags)
{
	if (cfg->listen_address == NULL)
		return NULL;
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, cfg->listen_address, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(cfg->http_port);
	} else if (inet_pton(AF_INET6, cfg->listen_address, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(cfg->http_port);
		*flags |= MHD_USE_IPv6;
	} else {
		return NULL;
	}
	return (const struct sockaddr *)ss;
}

/* Once the daemon is stopped (or never started). */
static void release(struct http_server *srv)
{
	request_deadline_stop(srv->deadline);
	http_admission_free(srv->admission);
	free(srv);
}

struct http_server *http_server_start(const struct edge_config *cfg,
				      struct db_pool *pool)
{
	struct http_server *srv = calloc(1, sizeof *srv);
	if (srv == NULL)
		return NULL;
	srv->cfg = cfg;
	srv->pool = pool;
	atomic_init(&srv->in_flight, 0);
	srv->admission = http_admission_new(cfg->max_connections, cfg->twilio_reserve);
	srv->deadline = request_deadline_start(cfg->head_deadline_seconds, cfg->body_deadline_seconds);
	if (srv->deadline == NULL || srv->admission == NULL) {
		log_error("cannot start the request-deadline watchdog or connection counts");
		release(srv);
		return NULL;
	}

	/* MHD_USE_ITC is what makes MHD_quiesce_daemon possible with an
	 * internal thread pool. */
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			     MHD_USE_ITC | MHD_USE_ERROR_LOG;
	struct sockaddr_storage bind_to;
	const struct sockaddr *listen_on = listen_address(cfg, &bind_to, &flags);
	srv->daemon = MHD_start_daemon(
		flags, cfg->http_port, admit, srv, on_request, srv,
		/* First, or MHD logs option-parsing problems its own way. */
		MHD_OPTION_EXTERNAL_LOGGER, log_mhd_message, (void *)srv,
		/* NULL: every IPv4 address. */
		MHD_OPTION_SOCK_ADDR, listen_on,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->threads,
		MHD_OPTION_URI_LOG_CALLBACK, on_request_line, (void *)srv,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, (void *)srv,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)IDLE_CONNECTION_TIMEOUT_S,
		/* One address cannot take every connection: the others (Twilio's
		 * webhooks among them) keep theirs. */
		MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_connections_per_client,
		/* A head, then its body, must arrive within their deadlines, however
		 * steadily they drip. */
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, (void *)srv,
		MHD_OPTION_END);
	if (srv->daemon == NULL) {
		log_error("cannot start HTTP server on %s port %u",
			  cfg->listen_address ? cfg->listen_address : "every address",
			  (unsigned int)cfg->http_port);
		release(srv);
		return NULL;
	}
	return srv;
}

static unsigned int open_connections(struct MHD_Daemon *daemon)
{
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	return info ? info->num_connections : 0;
}

void http_server_stop(struct http_server *srv)
{
	if (srv == NULL)
		return;
	MHD_socket listen_fd = MHD_quiesce_daemon(srv->daemon);

	/* Waiting ends when no connection is left or, earlier, when the only
	 * ones left are idle keep-alives: browsers hold those open for minutes
	 * and closing them loses nothing. */
	const struct timespec pause = { 0, DRAIN_POLL_MS * 1000000L };
	for (int waited = 0;
	     waited < DRAIN_TIMEOUT_MS && open_connections(srv->daemon) > 0 &&
	     atomic_load(&srv->in_flight) > 0;
	     waited += DRAIN_POLL_MS)
		nanosleep(&pause, NULL);

	MHD_stop_daemon(srv->daemon);
	/* MHD hands the quiesced socket to us, but threads may still touch it
	 * until the daemon is stopped. */
	if (listen_fd != MHD_INVALID_SOCKET)
		close(listen_fd);
	release(srv);
}
