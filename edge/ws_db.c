/* Connecting, LISTEN and querying for the feed. Unlike the HTTP pool it
 * does not retry a broken connection in place: the feed treats any break
 * as an outage of both connections and reconnects them together, because
 * notifications sent while LISTEN was down are lost and only a full
 * re-read of every business's events after reconnecting covers them. */
#include "ws_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool ws_db_init(struct ws_db *db, const char *conninfo, const char *listen_conninfo)
{
	memset(db, 0, sizeof *db);
	db->conninfo = strdup(conninfo);
	db->listen_conninfo = strdup(listen_conninfo);
	return db->conninfo != NULL && db->listen_conninfo != NULL;
}

void ws_db_disconnect(struct ws_db *db)
{
	if (db->listen != NULL)
		PQfinish(db->listen);
	if (db->query != NULL)
		PQfinish(db->query);
	db->listen = db->query = NULL;
}

void ws_db_free(struct ws_db *db)
{
	ws_db_disconnect(db);
	free(db->conninfo);
	free(db->listen_conninfo);
	db->conninfo = db->listen_conninfo = NULL;
}

static void set_why(char *why, size_t size, PGconn *conn)
{
	const char *msg = conn != NULL ? PQerrorMessage(conn) : "out of memory";
	size_t n = strcspn(msg, "\n");
	snprintf(why, size, "%.*s", (int)n, msg);
}

/* libpq prints the server's goodbye (FATAL: terminating connection …) on
 * the idle LISTEN connection to stderr; the feed logs outages itself. */
static void quiet_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

bool ws_db_connect(struct ws_db *db, char *why, size_t why_size)
{
	ws_db_disconnect(db);
	/* PQstatus(NULL) is CONNECTION_BAD: out of memory fails like the rest. */
	PGconn *failed = db->query = db_connect(db->conninfo);
	if (PQstatus(db->query) == CONNECTION_OK) {
		failed = db->listen = db_connect(db->listen_conninfo);
		if (PQstatus(db->listen) == CONNECTION_OK) {
			PQsetNoticeProcessor(db->query, quiet_notice, NULL);
			PQsetNoticeProcessor(db->listen, quiet_notice, NULL);
			PGresult *res = PQexec(db->listen, "LISTEN nmc_events");
			bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
			PQclear(res);
			if (ok)
				return true;
		}
	}
	set_why(why, why_size, failed);
	ws_db_disconnect(db);
	return false;
}

int ws_db_listen_socket(const struct ws_db *db)
{
	return db->listen != NULL ? PQsocket(db->listen) : -1;
}

bool ws_db_drain_notifications(struct ws_db *db,
			       void (*fn)(const char *payload, void *arg),
			       void *arg)
{
	if (db->listen == NULL)
		return false;
	bool alive = PQconsumeInput(db->listen) == 1 &&
		     PQstatus(db->listen) == CONNECTION_OK;
	/* Notifications parsed before a break are still valid: deliver them. */
	PGnotify *n;
	while ((n = PQnotifies(db->listen)) != NULL) {
		fn(n->extra, arg);
		PQfreemem(n);
	}
	return alive;
}

enum db_outcome ws_db_exec(struct ws_db *db, const char *sql, int nparams,
			   const char *const *param_values, PGresult **result)
{
	*result = NULL;
	if (db->query == NULL)
		return DB_UNAVAILABLE;
	PGresult *res = PQexecParams(db->query, sql, nparams, NULL, param_values,
				     NULL, NULL, 0);
	if (db_connection_broken(db->query, res)) {
		PQclear(res);
		return DB_UNAVAILABLE;
	}
	*result = res;
	return PQresultStatus(res) == PGRES_TUPLES_OK ? DB_OK : DB_QUERY_ERROR;
}
