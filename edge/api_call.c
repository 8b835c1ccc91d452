/* Calls of nmc_api.handle, one at a time or grouped: a leader/follower queue.
 * A grouped call joins the queue; if no group is running, its thread becomes
 * the leader, takes everything queued (up to MAX_GROUP) and runs it as one
 * nmc_api.handle_many statement — one transaction, one commit — while new
 * calls queue for the next group. Nothing ever waits for a group to fill: at
 * a quiet moment a call runs alone, at once; under load the group is what
 * arrived during the previous one's round trip. A group the database refuses
 * as a whole sends each of its calls back to its own thread to run alone, all
 * at once; an unreachable database answers each as it would have alone. */
#include "api_call.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "json_text.h"
#include "monotonic_clock.h"
#include "string_buffer.h"
#include "event_log.h"

static const char handle_sql[] =
	"SELECT status, content_type, headers, body, body_bytes "
	"FROM nmc_api.handle($1, $2, $3::jsonb, $4::jsonb, $5, $6, $7, $8::jsonb)";
static const char handle_many_sql[] =
	"SELECT status, content_type, headers, body FROM nmc_api.handle_many($1::jsonb)";

/* PostgreSQL's built-in OID for text (pg_type_d.h is a server header). 0
 * lets the server infer jsonb from the casts for the JSON arguments. */
#define TEXT_OID ((Oid)25)
static const Oid handle_param_types[HANDLE_NPARAMS] = {
	TEXT_OID, TEXT_OID, 0, 0, TEXT_OID, TEXT_OID, TEXT_OID, 0
};

#define MAX_GROUP 64

struct pending_call {
	const char *const *params;
	struct pending_call *next;
	bool done;               /* set under the lock once outcome and result are final */
	bool retry_alone;        /* instead of a result: its group failed, run it alone */
	enum db_outcome outcome;
	PGresult *result;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t finished = PTHREAD_COND_INITIALIZER;
static struct pending_call *queue_head, *queue_tail;
static bool group_running;
static atomic_uint_fast64_t groups, grouped_calls;
static atomic_uint_fast64_t queued;   /* calls waiting for a group to take them */

enum db_outcome api_call_one(struct db_pool *pool, const char *const params[HANDLE_NPARAMS],
				PGresult **result)
{
	return db_pool_exec(pool, handle_sql, HANDLE_NPARAMS, handle_param_types, params, result);
}

/* [[method, path, query, headers, addr, body, raw_query, edge], ...]; query,
 * headers and edge are JSON objects already (edge or null), the rest strings
 * or null. */
static bool build_group_json(struct pending_call **calls, int n, struct string_buffer *out)
{
	string_buffer_init(out);
	string_buffer_append_char(out, '[');
	for (int k = 0; k < n; k++) {
		string_buffer_append_str(out, k ? ",[" : "[");
		for (int p = 0; p < HANDLE_NPARAMS; p++) {
			const char *v = calls[k]->params[p];
			if (p)
				string_buffer_append_char(out, ',');
			if (v == NULL)
				string_buffer_append_str(out, "null");
			else if (p == HANDLE_QUERY || p == HANDLE_HEADERS || p == HANDLE_EDGE)
				string_buffer_append_str(out, v);
			else
				json_escape_append(out, v);
		}
		string_buffer_append_char(out, ']');
	}
	string_buffer_append_char(out, ']');
	return !out->failed;
}

/* Row k of the group's result as a result of its own, so the caller treats
 * it exactly like api_call_one's. */
static PGresult *row_result(const PGresult *group, int k)
{
	PGresult *r = PQcopyResult(group, PG_COPYRES_ATTRS);
	if (r == NULL)
		return NULL;
	for (int c = 0; c < PQnfields(group); c++) {
		bool null = PQgetisnull(group, k, c);
		if (!PQsetvalue(r, 0, c, null ? NULL : PQgetvalue(group, k, c),
				null ? -1 : PQgetlength(group, k, c))) {
			PQclear(r);
			return NULL;
		}
	}
	return r;
}

/* After the database refused handle_many itself (an edge newer than the
 * extension: 42883; its privilege revoked: 42501), calls run alone for a
 * while instead of failing as a group every time. */
#define GROUPING_PAUSE_MS 60000
static atomic_llong grouping_paused_until_ms;

/* Runs the group; each call ends with its result, or marked to run alone
 * (retry_alone, then on its own thread) when the group as a whole failed.
 * Every grouped handler is idempotent (Twilio retries anyway), so a call
 * whose group committed but whose row could not be copied may run again. */
static void run_group(struct db_pool *pool, struct pending_call **calls, int n)
{
	if (n == 1) {
		/* Alone, but still as the leader: what arrives meanwhile queues for
		 * the next group. */
		calls[0]->outcome = api_call_one(pool, calls[0]->params, &calls[0]->result);
		return;
	}
	struct string_buffer json;
	PGresult *res = NULL;
	enum db_outcome outcome = DB_QUERY_ERROR;
	if (build_group_json(calls, n, &json)) {
		const char *param = json.data;
		outcome = db_pool_exec(pool, handle_many_sql, 1, NULL, &param, &res);
	}
	string_buffer_free(&json);

	if (outcome == DB_UNAVAILABLE) {
		/* What each would have got alone (db_pool_exec already retried once). */
		for (int k = 0; k < n; k++)
			calls[k]->outcome = DB_UNAVAILABLE;
		PQclear(res);
		return;
	}
	bool ok = outcome == DB_OK && PQntuples(res) == n && PQnfields(res) == 4;
	for (int k = 0; k < n; k++) {
		calls[k]->result = ok ? row_result(res, k) : NULL;
		if (calls[k]->result != NULL)
			calls[k]->outcome = DB_OK;
		else
			calls[k]->retry_alone = true;
	}
	if (!ok) {
		const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		log_error("a group of %d webhooks failed (%s); each runs alone",
			n, state ? state : "unexpected result");
		if (state != NULL && (strcmp(state, "42883") == 0 || strcmp(state, "42501") == 0))
			atomic_store(&grouping_paused_until_ms, monotonic_ms() + GROUPING_PAUSE_MS);
	} else {
		atomic_fetch_add(&groups, 1);
		atomic_fetch_add(&grouped_calls, (uint_fast64_t)n);
	}
	PQclear(res);
}

enum db_outcome api_call_grouped(struct db_pool *pool, const char *const params[HANDLE_NPARAMS],
				    PGresult **result)
{
	if (monotonic_ms() < atomic_load(&grouping_paused_until_ms))
		return api_call_one(pool, params, result);

	struct pending_call me = { .params = params };
	struct pending_call *calls[MAX_GROUP];

	pthread_mutex_lock(&lock);
	if (queue_tail)
		queue_tail->next = &me;
	else
		queue_head = &me;
	queue_tail = &me;
	atomic_fetch_add(&queued, 1);
	while (!me.done) {
		if (group_running) {
			pthread_cond_wait(&finished, &lock);
			continue;
		}
		/* Lead the next group: everything queued, oldest first. */
		int n = 0;
		while (queue_head != NULL && n < MAX_GROUP) {
			calls[n++] = queue_head;
			queue_head = queue_head->next;
		}
		if (queue_head == NULL)
			queue_tail = NULL;
		atomic_fetch_sub(&queued, (uint_fast64_t)n);
		group_running = true;
		pthread_mutex_unlock(&lock);

		run_group(pool, calls, n);

		pthread_mutex_lock(&lock);
		for (int k = 0; k < n; k++)
			calls[k]->done = true;
		group_running = false;
		pthread_cond_broadcast(&finished);
	}
	pthread_mutex_unlock(&lock);
	/* Alone, on this thread, in parallel with the others of a failed group
	 * (and the next group): nobody waits for anyone else's retry. */
	if (me.retry_alone)
		return api_call_one(pool, params, result);
	*result = me.result;
	return me.outcome;
}

uint64_t api_call_groups(void)
{
	return atomic_load(&groups);
}

uint64_t api_call_grouped_calls(void)
{
	return atomic_load(&grouped_calls);
}

uint64_t api_call_queued(void)
{
	return atomic_load(&queued);
}
