/* grouped_routes.c — the routes whose requests may be committed in groups,
 * as nmc_api.grouped_routes() lists them, cached and re-read once a minute.
 * Called by api_proxy.c for every API request; one thread at a time re-reads,
 * the others keep using the list they have. */
#include "grouped_routes.h"

#include "monotonic_clock.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define REFRESH_MS 60000
#define RETRY_MS 1000
#define MAX_ROUTES 32
#define MAX_TEXT 128

struct route {
	char method[16];
	char path[MAX_TEXT];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct route routes[MAX_ROUTES];
static int nroutes;
static long long next_read_ms;   /* 0: never read */
static bool reading;

/* Reads the list into fresh[]; -1 when it cannot be read (an older extension
 * without the function, or the database away). */
static int read_routes(struct db_pool *pool, struct route *fresh)
{
	PGresult *res = NULL;
	int n = -1;
	if (db_pool_exec(pool, "SELECT method, path FROM nmc_api.grouped_routes()", 0, NULL, NULL, &res) == DB_OK
	    && PQnfields(res) == 2) {
		n = 0;
		for (int r = 0; r < PQntuples(res) && n < MAX_ROUTES; r++) {
			const char *m = PQgetvalue(res, r, 0), *p = PQgetvalue(res, r, 1);
			if (strlen(m) >= sizeof fresh[n].method || strlen(p) >= sizeof fresh[n].path)
				continue;
			strcpy(fresh[n].method, m);
			strcpy(fresh[n].path, p);
			n++;
		}
	}
	PQclear(res);
	return n;
}

bool grouped_route(struct db_pool *pool, const char *method, const char *path)
{
	pthread_mutex_lock(&lock);
	if (!reading && monotonic_ms() >= next_read_ms) {
		reading = true;
		pthread_mutex_unlock(&lock);
		struct route fresh[MAX_ROUTES];
		int n = read_routes(pool, fresh);
		pthread_mutex_lock(&lock);
		nroutes = n < 0 ? 0 : n;
		memcpy(routes, fresh, sizeof(struct route) * (size_t)nroutes);
		next_read_ms = monotonic_ms() + (n < 0 ? RETRY_MS : REFRESH_MS);
		reading = false;
	}
	bool found = false;
	for (int k = 0; k < nroutes && !found; k++)
		found = strcmp(routes[k].method, method) == 0 && strcmp(routes[k].path, path) == 0;
	pthread_mutex_unlock(&lock);
	return found;
}
