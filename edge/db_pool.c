/* libpq connection pool: checkout/checkin under a mutex and condition
 * variable, lazy connect, statements prepared once per connection,
 * reset-and-retry-once on a broken connection.
 * It also decides which failures mean "database unavailable" (503) as
 * opposed to "the statement is wrong" (500). */
#include "db_pool.h"
#include "event_log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Statements are prepared once per connection, keyed by the address of
 * their (static) SQL text; more distinct texts than this run unprepared. */
#define PREPARED_PER_CONN 8

struct db_pool {
	pthread_mutex_t lock;
	pthread_cond_t slot_freed;
	unsigned int size;
	PGconn **conns;      /* NULL until first use of the slot */
	const char *(*prepared)[PREPARED_PER_CONN]; /* per slot; NULL entries free */
	bool *in_use;
	bool reachable;      /* last known state, only to log transitions */
	bool prepare;        /* false: never PQprepare (behind a transaction pooler) */
	char *conninfo;
};

struct db_pool *db_pool_create(const char *conninfo, unsigned int size, bool prepare)
{
	struct db_pool *pool = calloc(1, sizeof *pool);
	if (pool == NULL)
		return NULL;
	pool->size = size;
	pool->prepare = prepare;
	pool->reachable = true;
	pool->conns = calloc(size, sizeof *pool->conns);
	pool->prepared = calloc(size, sizeof *pool->prepared);
	pool->in_use = calloc(size, sizeof *pool->in_use);
	pool->conninfo = strdup(conninfo);
	if (pool->conns == NULL || pool->prepared == NULL || pool->in_use == NULL || pool->conninfo == NULL) {
		free(pool->conns);
		free(pool->prepared);
		free(pool->in_use);
		free(pool->conninfo);
		free(pool);
		return NULL;
	}
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->slot_freed, NULL);
	return pool;
}

void db_pool_destroy(struct db_pool *pool)
{
	if (pool == NULL)
		return;
	for (unsigned int i = 0; i < pool->size; i++)
		if (pool->conns[i] != NULL)
			PQfinish(pool->conns[i]);
	pthread_cond_destroy(&pool->slot_freed);
	pthread_mutex_destroy(&pool->lock);
	free(pool->conns);
	free(pool->prepared);
	free(pool->in_use);
	free(pool->conninfo);
	free(pool);
}

static unsigned int checkout(struct db_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	for (;;) {
		for (unsigned int i = 0; i < pool->size; i++) {
			if (!pool->in_use[i]) {
				pool->in_use[i] = true;
				pthread_mutex_unlock(&pool->lock);
				return i;
			}
		}
		pthread_cond_wait(&pool->slot_freed, &pool->lock);
	}
}

static void checkin(struct db_pool *pool, unsigned int slot)
{
	pthread_mutex_lock(&pool->lock);
	pool->in_use[slot] = false;
	pthread_cond_signal(&pool->slot_freed);
	pthread_mutex_unlock(&pool->lock);
}

/* Logs only when reachability changes, so an outage produces two lines
 * instead of one per request. */
static void note_reachability(struct db_pool *pool, bool reachable, PGconn *conn)
{
	pthread_mutex_lock(&pool->lock);
	bool changed = pool->reachable != reachable;
	pool->reachable = reachable;
	pthread_mutex_unlock(&pool->lock);
	if (!changed)
		return;
	if (reachable) {
		log_info("database reachable again");
	} else {
		const char *why = conn ? PQerrorMessage(conn) : "out of memory";
		log_error("database unavailable: %s", why);
	}
}

PGconn *db_connect(const char *conninfo)
{
	/* expand_dbname lets the configured conninfo override these defaults;
	 * connect_timeout keeps a dead TCP peer from pinning an HTTP thread. */
	static const char *const keys[] = {
		"connect_timeout", "fallback_application_name", "dbname", NULL
	};
	const char *values[] = { "5", "nmc-edge", conninfo, NULL };
	return PQconnectdbParams(keys, values, 1);
}

/* Makes the slot's connection usable if at all possible. A connection left
 * inside a transaction cannot be trusted either, so it is reset too. */
static void reset_connection(struct db_pool *pool, unsigned int slot)
{
	PQreset(pool->conns[slot]);
	memset(pool->prepared[slot], 0, sizeof pool->prepared[slot]);
}

static bool ensure_connected(struct db_pool *pool, unsigned int slot)
{
	PGconn *conn = pool->conns[slot];
	if (conn == NULL) {
		memset(pool->prepared[slot], 0, sizeof pool->prepared[slot]);
		conn = pool->conns[slot] = db_connect(pool->conninfo);
		if (conn == NULL)
			return false;
	} else if (PQstatus(conn) != CONNECTION_OK ||
		   PQtransactionStatus(conn) != PQTRANS_IDLE) {
		reset_connection(pool, slot);
	}
	return PQstatus(conn) == CONNECTION_OK;
}

static bool prepared_statement_stale(const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	/* 26000: the statement is gone (e.g. DISCARD ALL); 0A000: "cached plan
	 * must not change result type" after an upgrade changed a function's result. */
	return state != NULL && (strcmp(state, "26000") == 0 || strcmp(state, "0A000") == 0);
}

/* Runs sql on the slot's connection, preparing it there the first time
 * (parsing and planning the call once per connection, not per request).
 * The SQL must be a string constant: it is recognised by its address. A
 * prepared statement the server no longer accepts is prepared again, once. */
static PGresult *exec_statement(struct db_pool *pool, unsigned int slot, const char *sql,
				int nparams, const Oid *param_types,
				const char *const *param_values);

static PGresult *exec_statement_once(struct db_pool *pool, unsigned int slot, const char *sql,
				     int nparams, const Oid *param_types,
				     const char *const *param_values)
{
	PGconn *conn = pool->conns[slot];
	const char **known = pool->prepared[slot];
	char name[16];
	int i;

	if (!pool->prepare)
		return PQexecParams(conn, sql, nparams, param_types, param_values, NULL, NULL, 0);
	for (i = 0; i < PREPARED_PER_CONN && known[i] != NULL && known[i] != sql; i++)
		;
	if (i == PREPARED_PER_CONN)
		return PQexecParams(conn, sql, nparams, param_types, param_values, NULL, NULL, 0);
	snprintf(name, sizeof name, "nmc_edge_%d", i);
	if (known[i] == NULL) {
		PGresult *prep = PQprepare(conn, name, sql, nparams, param_types);
		if (prep == NULL || PQresultStatus(prep) != PGRES_COMMAND_OK)
			return prep;
		PQclear(prep);
		known[i] = sql;
	}
	return PQexecPrepared(conn, name, nparams, param_values, NULL, NULL, 0);
}

static PGresult *exec_statement(struct db_pool *pool, unsigned int slot, const char *sql,
				int nparams, const Oid *param_types,
				const char *const *param_values)
{
	PGresult *res = exec_statement_once(pool, slot, sql, nparams, param_types, param_values);
	if (!prepared_statement_stale(res))
		return res;
	PQclear(res);
	PQclear(PQexec(pool->conns[slot], "DEALLOCATE ALL"));
	memset(pool->prepared[slot], 0, sizeof pool->prepared[slot]);
	return exec_statement_once(pool, slot, sql, nparams, param_types, param_values);
}

static bool sqlstate_means_unavailable(const char *state)
{
	if (state == NULL)
		return false;
	return strncmp(state, "08", 2) == 0 ||      /* connection exception */
	       strcmp(state, "57P01") == 0 ||       /* admin_shutdown */
	       strcmp(state, "57P02") == 0 ||       /* crash_shutdown */
	       strcmp(state, "57P03") == 0;         /* cannot_connect_now */
}

static bool result_ok(const PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	return st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
}

bool db_connection_broken(PGconn *conn, const PGresult *res)
{
	if (res == NULL || PQstatus(conn) != CONNECTION_OK)
		return true;
	return !result_ok(res) &&
	       sqlstate_means_unavailable(PQresultErrorField(res, PG_DIAG_SQLSTATE));
}

enum db_outcome db_pool_exec(struct db_pool *pool, const char *sql, int nparams,
			     const Oid *param_types,
			     const char *const *param_values,
			     PGresult **result)
{
	*result = NULL;
	unsigned int slot = checkout(pool);
	enum db_outcome outcome = DB_UNAVAILABLE;
	PGresult *res = NULL;

	if (!ensure_connected(pool, slot))
		goto done;
	PGconn *conn = pool->conns[slot];

	res = exec_statement(pool, slot, sql, nparams, param_types, param_values);
	if (db_connection_broken(conn, res)) {
		/* The pooled connection died since its last use (most often a
		 * PostgreSQL restart). One fresh attempt hides that from the
		 * client; a second failure means the database really is down. */
		PQclear(res);
		res = NULL;
		reset_connection(pool, slot);
		if (PQstatus(conn) != CONNECTION_OK)
			goto done;
		res = exec_statement(pool, slot, sql, nparams, param_types, param_values);
		if (db_connection_broken(conn, res)) {
			PQclear(res);
			res = NULL;
			goto done;
		}
	}
	outcome = result_ok(res) ? DB_OK : DB_QUERY_ERROR;
	*result = res;

done:
	note_reachability(pool, outcome != DB_UNAVAILABLE, pool->conns[slot]);
	checkin(pool, slot);
	return outcome;
}
