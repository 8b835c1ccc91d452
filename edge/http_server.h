/* The libmicrohttpd daemon: request lifecycle callbacks, body limit, and
 * routing of each request to health check, API proxy or static files. */
#ifndef NMC_HTTP_SERVER_H
#define NMC_HTTP_SERVER_H

#include "config.h"
#include "db_pool.h"

struct http_server;

/* Binds cfg->listen_address (every IPv4 address when NULL), cfg->http_port. Returns NULL (after logging) on failure.
 * cfg and pool must outlive the server. */
struct http_server *http_server_start(const struct edge_config *cfg,
				      struct db_pool *pool);

/* Stops accepting, lets in-flight requests finish (bounded wait), then
 * tears the daemon down and frees the server. */
void http_server_stop(struct http_server *srv);

#endif
