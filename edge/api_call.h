/* One request's call of nmc_api.handle: alone, or — for the routes the
 * database lists as groupable (grouped_routes.h: Twilio's webhooks, which come
 * in bursts and only record themselves) — committed together with the calls
 * other threads are waiting to run (group commit). */
#ifndef NMC_API_CALL_H
#define NMC_API_CALL_H

#include <stdint.h>

#include "db_pool.h"

/* The arguments of nmc_api.handle, as text: the request's seven (what the
 * spool keeps), then the edge's own document about it (JSON: its figures
 * for the status page, or when a spooled webhook arrived), which no header
 * a client sends can reach. */
#define HANDLE_NREQUEST 7
#define HANDLE_NPARAMS 8
enum handle_param {
	HANDLE_METHOD, HANDLE_PATH, HANDLE_QUERY, HANDLE_HEADERS,
	HANDLE_CLIENT_ADDR, HANDLE_BODY, HANDLE_RAW_QUERY, HANDLE_EDGE
};

/* nmc_api.handle(params) in its own transaction; as db_pool_exec. */
enum db_outcome api_call_one(struct db_pool *pool, const char *const params[HANDLE_NPARAMS],
				PGresult **result);

/* The same result, but the call runs in one transaction with whatever other
 * grouped calls are waiting when the database is free (none waiting: alone,
 * at once). *result is a one-row result of its own. A group the database
 * refuses as a whole is run again one call at a time, so each request gets
 * exactly the answer it would have had alone. QUERY, HEADERS and EDGE must be
 * JSON objects (EDGE may be NULL). */
enum db_outcome api_call_grouped(struct db_pool *pool, const char *const params[HANDLE_NPARAMS],
				    PGresult **result);

/* For /metrics: groups of two or more committed together, and the calls in them. */
uint64_t api_call_groups(void);
uint64_t api_call_grouped_calls(void);
/* Grouped calls queued right now, waiting for a group to take them. */
uint64_t api_call_queued(void);

#endif
