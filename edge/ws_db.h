/* The live feed's two PostgreSQL connections, owned by the WebSocket
 * thread: one that only LISTENs on nmc_events (its socket is watched by the
 * lws loop) and one for ws_hello / ws_events queries. */
#ifndef NMC_WS_DB_H
#define NMC_WS_DB_H

#include <stdbool.h>

#include "db_pool.h"

struct ws_db {
	char *conninfo;       /* owned; the query connection's */
	char *listen_conninfo; /* owned; LISTEN's: a session, never a transaction pooler */
	PGconn *listen;       /* NULL while disconnected */
	PGconn *query;        /* NULL while disconnected */
};

bool ws_db_init(struct ws_db *db, const char *conninfo, const char *listen_conninfo);
/* Connects both and LISTENs. On failure both stay closed and *why (static
 * or owned by nothing) says what went wrong. */
bool ws_db_connect(struct ws_db *db, char *why, size_t why_size);
void ws_db_disconnect(struct ws_db *db);
void ws_db_free(struct ws_db *db);

/* Socket of the LISTEN connection, or -1. */
int ws_db_listen_socket(const struct ws_db *db);

/* Reads what arrived on the LISTEN connection and calls fn with each
 * notification's payload. Returns false when that connection is broken. */
bool ws_db_drain_notifications(struct ws_db *db,
			       void (*fn)(const char *payload, void *arg),
			       void *arg);

/* Runs a statement on the query connection; DB_UNAVAILABLE when there is
 * none or it broke (the caller then starts the reconnect cycle). The
 * caller PQclears *result when it is non-NULL. */
enum db_outcome ws_db_exec(struct ws_db *db, const char *sql, int nparams,
			   const char *const *param_values, PGresult **result);

#endif
