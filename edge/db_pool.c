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

struct slot {
	PGconn *conn;        /* NULL until first use */
	const char *prepared[PREPARED_PER_CONN];   /* NULL entries free */
	bool in_use;
};

struct db_pool {
	pthread_mutex_t lock;
	pthread_cond_t slot_freed;
	unsigned int size;
	bool reachable;      /* last known state, only to log transitions */
	bool prepare;        /* false: never PQprepare (behind a transaction pooler) */
	char *conninfo;
	struct slot slots[];
};

struct db_pool *db_pool_create(const char *conninfo, unsigned int size, bool prepare)
{
	struct db_pool *pool = calloc(1, sizeof *pool + size * sizeof pool->slots[0]);
	if (pool == NULL)
		return NULL;
	pool->size = size;
	pool->prepare = prepare;
	pool->reachable = true;
	pool->conninfo = strdup(conninfo);
	if (pool->conninfo == NULL) {
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
		if (pool->slots[i].conn != NULL)
			PQfinish(pool->slots[i].conn);
	pthread_cond_destroy(&pool->slot_freed);
	pthread_mutex_destroy(&pool->lock);
	free(pool->conninfo);
	free(pool);
}

static struct slot *checkout(struct db_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	for (;;) {
		for (unsigned int i = 0; i < pool->size; i++) {
			if (!pool->slots[i].in_use) {
				pool->slots[i].in_use = true;
				pthread_mutex_unlock(&pool->lock);
				return &pool->slots[i];
			}
		}
		pthread_cond_wait(&pool->slot_freed, &pool->lock);
	}
}

static void checkin(struct db_pool *pool, struct slot *slot)
{
	pthread_mutex_lock(&pool->lock);
	slot->in_use = false;
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
static void reset_connection(struct slot *slot)
{
	PQreset(slot->conn);
	memset(slot->prepared, 0, sizeof slot->prepared);
}

static bool ensure_connected(struct db_pool *pool, struct slot *slot)
{
	if (slot->conn == NULL) {
		memset(slot->prepared, 0, sizeof slot->prepared);
		if ((slot->conn = db_connect(pool->conninfo)) == NULL)
			return false;
	} else if (PQstatus(slot->conn) != CONNECTION_OK ||
		   PQtransactionStatus(slot->conn) != PQTRANS_IDLE) {
		reset_connection(slot);
	}
	return PQstatus(slot->conn) == CONNECTION_OK;
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
static PGresult *exec_statement_once(struct db_pool *pool, struct slot *slot, const char *sql,
				     int nparams, const Oid *param_types,
				     const char *const *param_values)
{
	PGconn *conn = slot->conn;
	const char **known = slot->prepared;
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

static PGresult *exec_statement(struct db_pool *pool, struct slot *slot, const char *sql,
				int nparams, const Oid *param_types,
				const char *const *param_values)
{
	PGresult *res = exec_statement_once(pool, slot, sql, nparams, param_types, param_values);
	if (!prepared_statement_stale(res))
		return res;
	PQclear(res);
	PQclear(PQexec(slot->conn, "DEALLOCATE ALL"));
	memset(slot->prepared, 0, sizeof slot->prepared);
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
	struct slot *slot = checkout(pool);
	enum db_outcome outcome = DB_UNAVAILABLE;
	/* A pooled connection that died since its last use (most often a
	 * PostgreSQL restart) is reset and tried once more, which hides that
	 * from the client; a second failure means the database really is down. */
	for (int attempt = 0; attempt < 2 && outcome == DB_UNAVAILABLE; attempt++) {
		if (attempt > 0)
			reset_connection(slot);
		if (attempt == 0 ? !ensure_connected(pool, slot) : PQstatus(slot->conn) != CONNECTION_OK)
			break;
		PGresult *res = exec_statement(pool, slot, sql, nparams, param_types, param_values);
		if (db_connection_broken(slot->conn, res)) {
			PQclear(res);
			continue;
		}
		outcome = result_ok(res) ? DB_OK : DB_QUERY_ERROR;
		*result = res;
	}
	note_reachability(pool, outcome != DB_UNAVAILABLE, slot->conn);
	checkin(pool, slot);
	return outcome;
}
