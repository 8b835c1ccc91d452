/* Calls of nmc_api.handle, one at a time or grouped: a leader/follower queue.
 * A grouped call joins the queue; if no group is running, its thread becomes
 * the leader, takes everything queued (up to MAX_GROUP) and runs it as one
 * nmc_api.handle_many statement — one transaction, one commit — while new
 * calls queue for the next group. Nothing ever waits for a group to fill: at
 * a quiet moment a call runs alone, at once; under load the group is what
 * arrived during the previous one's round trip. */
#include "handle_call.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "json_escape.h"
#include "string_buffer.h"

static const char handle_sql[] =
	"SELECT status, content_type, headers, body "
	"FROM nmc_api.handle($1, $2, $3::jsonb, $4::jsonb, $5, $6, $7)";
static const char handle_many_sql[] =
	"SELECT status, content_type, headers, body FROM nmc_api.handle_many($1::jsonb)";

/* PostgreSQL's built-in OID for text (pg_type_d.h is a server header). 0
 * lets the server infer jsonb from the casts for the JSON arguments. */
#define TEXT_OID ((Oid)25)
static const Oid handle_param_types[HANDLE_NPARAMS] = {
	TEXT_OID, TEXT_OID, 0, 0, TEXT_OID, TEXT_OID, TEXT_OID
};

#define MAX_GROUP 64

struct pending_call {
	const char *const *params;
	struct pending_call *next;
	bool done;               /* set under the lock once outcome and result are final */
	enum db_outcome outcome;
	PGresult *result;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t finished = PTHREAD_COND_INITIALIZER;
static struct pending_call *queue_head, *queue_tail;
static bool group_running;
static atomic_uint_fast64_t groups, grouped_calls;

enum db_outcome handle_call_one(struct db_pool *pool, const char *const params[HANDLE_NPARAMS],
				PGresult **result)
{
	return db_pool_exec(pool, handle_sql, HANDLE_NPARAMS, handle_param_types, params, result);
}

/* [[method, path, query, headers, addr, body, raw_query], ...]; query and
 * headers are JSON objects already, the rest strings or null. */
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
			else if (p == HANDLE_QUERY || p == HANDLE_HEADERS)
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
 * it exactly like handle_call_one's. */
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

static void run_alone(struct db_pool *pool, struct pending_call *call)
{
	call->outcome = handle_call_one(pool, call->params, &call->result);
}

static void run_group(struct db_pool *pool, struct pending_call **calls, int n)
{
	if (n == 1) {
		run_alone(pool, calls[0]);
		return;
	}
	struct string_buffer json;
	PGresult *res = NULL;
	enum db_outcome outcome = DB_UNAVAILABLE;
	bool built = build_group_json(calls, n, &json);
	if (built) {
		const char *param = json.data;
		outcome = db_pool_exec(pool, handle_many_sql, 1, NULL, &param, &res);
	}
	string_buffer_free(&json);

	int copied = 0;
	if (outcome == DB_OK && PQntuples(res) == n && PQnfields(res) == 4) {
		for (; copied < n; copied++) {
			calls[copied]->result = row_result(res, copied);
			if (calls[copied]->result == NULL)
				break;
			calls[copied]->outcome = DB_OK;
		}
	}
	if (copied < n) {
		/* Nothing of a failed group was committed: each call again, alone. */
		const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		if (outcome != DB_UNAVAILABLE)
			fprintf(stderr, "nmc-edge: a group of %d webhooks failed (%s); running them one at a time\n",
				n, state ? state : "unexpected result");
		for (int k = 0; k < copied; k++) {
			PQclear(calls[k]->result);
			calls[k]->result = NULL;
		}
		for (int k = 0; k < n; k++)
			run_alone(pool, calls[k]);
	} else {
		atomic_fetch_add(&groups, 1);
		atomic_fetch_add(&grouped_calls, (uint_fast64_t)n);
	}
	PQclear(res);
}

enum db_outcome handle_call_grouped(struct db_pool *pool, const char *const params[HANDLE_NPARAMS],
				    PGresult **result)
{
	struct pending_call me = { .params = params };
	struct pending_call *calls[MAX_GROUP];

	pthread_mutex_lock(&lock);
	if (queue_tail)
		queue_tail->next = &me;
	else
		queue_head = &me;
	queue_tail = &me;
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
	*result = me.result;
	return me.outcome;
}

uint64_t handle_call_groups(void)
{
	return atomic_load(&groups);
}

uint64_t handle_call_grouped_calls(void)
{
	return atomic_load(&grouped_calls);
}
