/* The live feed's WebSocket server: libwebsockets on its own port
 * (NMC_WS_PORT, path /ws) and its own thread. It is a second port because
 * libmicrohttpd answers the upgrade itself and lws wants its own handshake. */
#ifndef NMC_WS_SERVER_H
#define NMC_WS_SERVER_H

#include "config.h"

struct ws_server;

/* Binds 0.0.0.0:cfg->ws_port and starts the thread. Returns NULL (after
 * logging) on failure. The database may be down: it connects when it can. */
struct ws_server *ws_server_start(const struct edge_config *cfg);

/* From another thread: closes every client with 1001 "going away" (bounded
 * wait), stops the thread and frees everything. */
void ws_server_stop(struct ws_server *srv);

#endif
