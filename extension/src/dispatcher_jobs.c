/*
 * dispatcher_jobs.c — the dispatcher's database side: claim due jobs and
 * turn them into HTTP transfers, complete finished transfers (one call per
 * batch; SQL isolates each job so one poison job is failed alone), and fire due
 * timers (each in its own transaction). Business rules live in the SQL
 * functions called here (sql/outbox/dispatcher.sql), not in C.
 */
#include "postgres.h"

#include <ctype.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/base64.h"
#include "lib/stringinfo.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "dispatcher_jobs.h"
#include "spi_row.h"
#include "spi_statement.h"
#include "worker_slot.h"


/* A transfer and its strings live in their own small context, deleted as one. */
static HttpTransfer *
transfer_from_row(HeapTuple tuple, TupleDesc desc)
{
	MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "dispatcher transfer", ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	HttpTransfer *t = palloc0(sizeof(HttpTransfer));
	bool		isnull;
	Datum		headers;
	char	   *user;
	char	   *password;

	t->job_id = spi_int(tuple, desc, "job_id");
	t->attempt = (int32) spi_int(tuple, desc, "attempt");
	t->method = spi_text(tuple, desc, "method");
	t->url = spi_text(tuple, desc, "url");
	t->body = spi_text(tuple, desc, "body");
	user = spi_text(tuple, desc, "basic_user");
	password = spi_text(tuple, desc, "basic_password");
	if (user != NULL && user[0] != '\0')
		t->userpwd = psprintf("%s:%s", user, password ? password : "");
	t->connect_timeout_ms = spi_int(tuple, desc, "connect_timeout_ms");
	t->total_timeout_ms = spi_int(tuple, desc, "total_timeout_ms");

	/* A binary body (Web Push) replaces the text one. */
	{
		Datum		bytes = spi_datum(tuple, desc, "body_bytes", &isnull);

		if (!isnull)
		{
			bytea	   *b = DatumGetByteaPP(bytes);

			t->body_len = VARSIZE_ANY_EXHDR(b);
			t->body = palloc(t->body_len + 1);
			memcpy(t->body, VARDATA_ANY(b), t->body_len);
			t->body[t->body_len] = '\0';
		}
	}

	headers = spi_datum(tuple, desc, "headers", &isnull);
	if (!isnull)
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n;

		deconstruct_array(DatumGetArrayTypeP(headers), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
		for (int i = 0; i < n; i++)
			if (!nulls[i])
				t->headers = curl_slist_append(t->headers, TextDatumGetCString(elems[i]));
	}
	MemoryContextSwitchTo(old);
	return t;
}

void
dispatcher_free_transfer(HttpTransfer *t)
{
	http_client_release(t);
	MemoryContextDelete(GetMemoryChunkContext(t));
}

/* The dispatcher's statements, prepared once (spi_statement.c). */
static SpiStatement plan_statement = SPI_STATEMENT("SELECT * FROM nmc.dispatcher_plan()", 0);
static SpiStatement claim_statement = SPI_STATEMENT("SELECT * FROM nmc.dispatcher_claim($1)", 1, INT4OID);
static SpiStatement due_timers_statement =
	SPI_STATEMENT("SELECT nmc.dispatcher_due_timers(" CppAsString2(MAX_TIMERS_PER_PASS) ") AS timer_id", 0);
static SpiStatement complete_statement =
	SPI_STATEMENT("SELECT nmc.dispatcher_complete_batch($1, $2, $3, $4, $5, $6, $7)", 7,
				  INT8ARRAYOID, INT4ARRAYOID, INT4ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, FLOAT8ARRAYOID);
static SpiStatement timer_fire_statement = SPI_STATEMENT("SELECT nmc.timer_fire($1)", 1, INT8OID);

/*
 * When the next job and timer are due (-1: nothing pending), and the
 * tunables, from nmc.settings: read after every change.
 */
static void
read_plan(DispatchPlan *plan)
{
	HeapTuple	row;
	TupleDesc	desc;

	/* Not read-only: it must see what this transaction just claimed or completed. */
	if (spi_statement_run(&plan_statement, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "nmc.dispatcher_plan failed");
	row = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	plan->next_job_due_ms = spi_int_or(row, desc, "next_job_due_ms", -1);
	plan->next_timer_due_ms = spi_int_or(row, desc, "next_timer_due_ms", -1);
	plan->idle_poll_ms = (int) spi_int(row, desc, "idle_poll_ms");
	plan->max_concurrency = (int) spi_int(row, desc, "max_concurrency");
	plan->claim_batch = (int) spi_int(row, desc, "claim_batch");
}

/* The plan, in a transaction of its own (at start, before anything is claimed). */
void
dispatcher_read_plan(DispatchPlan *plan)
{
	worker_begin_tx("nevermisscall: reading the dispatcher's settings");
	read_plan(plan);
	worker_commit_tx();
}

/* Claims due jobs and, in the same short transaction, notes due timers and the plan. */
HttpTransfer *
dispatcher_claim_jobs(int max_jobs, DispatchPlan *plan)
{
	HttpTransfer *claimed = NULL;
	Datum		args[1] = {Int32GetDatum(max_jobs)};

	worker_begin_tx("nevermisscall: claiming jobs");
	if (max_jobs > 0)
	{
		if (spi_statement_run(&claim_statement, args, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "nmc.dispatcher_claim failed");
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HttpTransfer *t = transfer_from_row(SPI_tuptable->vals[i], SPI_tuptable->tupdesc);

			t->next = claimed;
			claimed = t;
		}
	}
	if (spi_statement_run(&due_timers_statement, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "nmc.dispatcher_due_timers failed");
	plan->ndue_timers = 0;
	for (uint64 i = 0; i < SPI_processed && plan->ndue_timers < MAX_TIMERS_PER_PASS; i++)
		plan->due_timers[plan->ndue_timers++] = spi_int(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, "timer_id");
	read_plan(plan);
	worker_commit_tx();
	return claimed;
}

/*
 * Whether a response is a file rather than an API answer: a Content-Type
 * that is neither JSON nor text (Twilio's recordings and MMS media).
 */
static bool
response_is_file(const HttpTransfer *t)
{
	const char *ct = t->content_type;
	size_t		len = strcspn(ct, ";");

	while (len > 0 && ct[len - 1] == ' ')
		len--;
	if (t->response == NULL || t->response_len == 0 || len == 0)
		return false;
	if (pg_strncasecmp(ct, "text/", 5) == 0)
		return false;
	if (len == strlen("application/json") && pg_strncasecmp(ct, "application/json", len) == 0)
		return false;
	if (len > 5 && pg_strncasecmp(ct + len - 5, "+json", 5) == 0)
		return false;
	return true;
}

/*
 * A file reaches SQL as JSON like every answer:
 * {"content_type": "<its media type>", "base64": "<its bytes>"}. The media
 * type keeps only characters a media type can have (it came from the network).
 */
static char *
file_as_json(const HttpTransfer *t)
{
	StringInfoData out;
	int			enc_len = pg_b64_enc_len((int) t->response_len);
	char	   *enc = palloc(enc_len + 1);
	int			n = pg_b64_encode(t->response, (int) t->response_len, enc, enc_len);

	if (n < 0)
		elog(ERROR, "could not encode a response of %zu bytes", t->response_len);
	enc[n] = '\0';
	initStringInfo(&out);
	appendStringInfoString(&out, "{\"content_type\": \"");
	for (const char *c = t->content_type; *c != '\0' && *c != ';'; c++)
		if (isalnum((unsigned char) *c) || strchr("/.+-_", *c) != NULL)
			appendStringInfoChar(&out, *c);
	appendStringInfoString(&out, "\", \"base64\": \"");
	appendBinaryStringInfo(&out, enc, n);
	appendStringInfoString(&out, "\"}");
	pfree(enc);
	return out.data;
}

/* What a finished transfer reports to SQL as a transport error, if anything. */
static const char *
transport_error_of(HttpTransfer *t)
{
	if (t->result != CURLE_OK)
		return t->errbuf;
	if (t->response_truncated)
		return "the response was larger than the dispatcher accepts";
	if (response_is_file(t))
		return NULL;
	if (t->response != NULL &&
		(strlen(t->response) != t->response_len ||
		 !pg_verifymbstr(t->response, (int) t->response_len, true)))
		return "the response body is not UTF-8 text";
	return NULL;
}

static Datum
array_of(Datum *values, bool *nulls, int n, Oid type)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1] = {n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(values, nulls, 1, dims, lbs, type, typlen, typbyval, typalign));
}

/* One SPI call and one commit for the whole batch (see nmc.dispatcher_complete_batch). */
void
dispatcher_complete_jobs(HttpTransfer *finished, DispatchPlan *plan)
{
	static const Oid elem[7] = {INT8OID, INT4OID, INT4OID, TEXTOID, TEXTOID, TEXTOID, FLOAT8OID};
	int			n = 0;
	Datum	   *cols[7];
	bool	   *nulls[7];
	Datum		args[7];
	int			i = 0;

	for (HttpTransfer *t = finished; t != NULL; t = t->next)
		n++;
	worker_begin_tx("nevermisscall: completing jobs");
	for (int c = 0; c < 7; c++)
	{
		cols[c] = palloc(sizeof(Datum) * n);
		nulls[c] = palloc0(sizeof(bool) * n);
	}
	for (HttpTransfer *t = finished; t != NULL; t = t->next, i++)
	{
		const char *transport_error = transport_error_of(t);

		cols[0][i] = Int64GetDatum(t->job_id);
		cols[1][i] = Int32GetDatum(t->attempt);
		cols[2][i] = Int32GetDatum((int32) t->http_status);
		if (t->retry_after[0] != '\0')
			cols[3][i] = CStringGetTextDatum(t->retry_after);
		else
			nulls[3][i] = true;
		if (t->response != NULL && transport_error == NULL)
			cols[4][i] = CStringGetTextDatum(response_is_file(t) ? file_as_json(t) : t->response);
		else
			nulls[4][i] = true;
		if (transport_error != NULL)
			cols[5][i] = CStringGetTextDatum(transport_error);
		else
			nulls[5][i] = true;
		cols[6][i] = Float8GetDatum(t->duration_ms);
	}
	for (int c = 0; c < 7; c++)
		args[c] = array_of(cols[c], nulls[c], n, elem[c]);
	if (spi_statement_run(&complete_statement, args, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "nmc.dispatcher_complete_batch failed");
	/* Retries scheduled just now change when the next job is due. */
	read_plan(plan);
	worker_commit_tx();
}

void
dispatcher_fire_timers(const DispatchPlan *plan)
{
	for (int i = 0; i < plan->ndue_timers; i++)
	{
		Datum		args[1] = {Int64GetDatum(plan->due_timers[i])};

		worker_begin_tx("nevermisscall: firing a timer");
		spi_statement_run(&timer_fire_statement, args, false, 0);
		worker_commit_tx();
	}
}
