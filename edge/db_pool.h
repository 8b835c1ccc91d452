/* A fixed-size pool of libpq connections shared by the HTTP threads.
 * Connections are opened lazily and repaired on use, so the edge starts and
 * keeps running while PostgreSQL is down or restarting. */
#ifndef NMC_DB_POOL_H
#define NMC_DB_POOL_H

#include <stdbool.h>

#include <libpq-fe.h>

struct db_pool;

enum db_outcome {
	DB_OK,            /* *result holds the rows */
	DB_UNAVAILABLE,   /* the database could not be reached; no result */
	DB_QUERY_ERROR,   /* the statement failed; *result holds the error */
};

/* prepare: statements are prepared once per connection; false behind a
 * transaction pooler, where the next statement may reach another server
 * connection (each then runs as one unnamed parse-bind-execute). */
struct db_pool *db_pool_create(const char *conninfo, unsigned int size, bool prepare);
void db_pool_destroy(struct db_pool *pool);

/* Runs one parameterised statement (text parameters, text results) on a
 * pooled connection. A connection found broken is reset and the statement
 * retried once. The caller PQclears *result when it is non-NULL. */
enum db_outcome db_pool_exec(struct db_pool *pool, const char *sql, int nparams,
			     const Oid *param_types,
			     const char *const *param_values,
			     PGresult **result);

/* Shared with the WebSocket feed, which keeps its own connections. */
PGconn *db_connect(const char *conninfo);
/* True when res (possibly NULL) means the connection, not the statement,
 * failed: the caller should reconnect rather than report an error. */
bool db_connection_broken(PGconn *conn, const PGresult *res);

#endif
