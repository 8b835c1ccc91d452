/*
 * dispatcher_jobs.c — the dispatcher's database side: claim due jobs and
 * turn them into HTTP transfers, complete finished transfers (each in its
 * own subtransaction, so one poison job is failed alone), and fire due
 * timers (each in its own transaction). Business rules live in the SQL
 * functions called here (sql/dispatcher.sql), not in C.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "dispatcher_jobs.h"

#define MAX_TIMERS_PER_PASS 500

static void
begin_tx(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

static void
commit_tx(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

bool
dispatcher_extension_ready(void)
{
	bool		ready;

	begin_tx("nevermisscall: waiting for the extension");
	SPI_execute("SELECT 1 FROM pg_extension WHERE extname = 'nevermisscall'", true, 1);
	ready = SPI_processed == 1;
	commit_tx();
	return ready;
}

static char *
text_column(HeapTuple tuple, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, desc, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static long
int_column(HeapTuple tuple, TupleDesc desc, int col, long if_null)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, desc, col, &isnull);

	if (isnull)
		return if_null;
	return TupleDescAttr(desc, col - 1)->atttypid == INT8OID ? (long) DatumGetInt64(d) : (long) DatumGetInt32(d);
}

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

	t->job_id = int_column(tuple, desc, 1, 0);
	t->attempt = (int32) int_column(tuple, desc, 2, 0);
	t->method = text_column(tuple, desc, 3);
	t->url = text_column(tuple, desc, 4);
	t->body = text_column(tuple, desc, 6);
	user = text_column(tuple, desc, 7);
	password = text_column(tuple, desc, 8);
	if (user != NULL && user[0] != '\0')
		t->userpwd = psprintf("%s:%s", user, password ? password : "");
	t->connect_timeout_ms = int_column(tuple, desc, 9, 10000);
	t->total_timeout_ms = int_column(tuple, desc, 10, 30000);

	headers = SPI_getbinval(tuple, desc, 5, &isnull);
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

HttpTransfer *
dispatcher_claim_jobs(int max_jobs, DispatchPlan *plan)
{
	HttpTransfer *claimed = NULL;
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1] = {Int32GetDatum(max_jobs)};

	begin_tx("nevermisscall: claiming jobs");
	if (max_jobs > 0)
	{
		if (SPI_execute_with_args("SELECT * FROM nmc.dispatcher_claim($1)", 1, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "nmc.dispatcher_claim failed");
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HttpTransfer *t = transfer_from_row(SPI_tuptable->vals[i], SPI_tuptable->tupdesc);

			t->next = claimed;
			claimed = t;
		}
	}
	if (SPI_execute("SELECT * FROM nmc.dispatcher_plan()", true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "nmc.dispatcher_plan failed");
	plan->next_job_due_ms = int_column(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, -1);
	plan->next_timer_due_ms = int_column(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, -1);
	plan->idle_poll_ms = (int) int_column(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, 60000);
	plan->max_concurrency = (int) int_column(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, 64);
	plan->claim_batch = (int) int_column(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, 100);
	commit_tx();
	return claimed;
}

/* Runs one SQL call in a subtransaction; on error, logs it and returns false. */
static bool
run_in_subxact(const char *sql, int nargs, Oid *argtypes, Datum *args, const char *nulls, char **error_out)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool ok = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		SPI_execute_with_args(sql, nargs, argtypes, args, nulls, false, 0);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		ereport(WARNING,
				(errmsg("nevermisscall dispatcher: %s", edata->message)));
		if (error_out != NULL)
			*error_out = pstrdup(edata->message);
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

void
dispatcher_complete_jobs(HttpTransfer *finished)
{
	static Oid	complete_types[7] = {INT8OID, INT4OID, INT4OID, TEXTOID, TEXTOID, TEXTOID, FLOAT8OID};
	static Oid	fail_types[3] = {INT8OID, INT4OID, TEXTOID};

	begin_tx("nevermisscall: completing jobs");
	for (HttpTransfer *t = finished; t != NULL; t = t->next)
	{
		Datum		args[7];
		char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
		const char *transport_error = NULL;
		char	   *error = NULL;

		if (t->result != CURLE_OK)
			transport_error = t->errbuf;
		else if (t->response_truncated)
			transport_error = "the response was larger than the dispatcher accepts";
		else if (t->response != NULL &&
				 (strlen(t->response) != t->response_len ||
				  !pg_verifymbstr(t->response, (int) t->response_len, true)))
			transport_error = "the response body is not UTF-8 text";

		args[0] = Int64GetDatum(t->job_id);
		args[1] = Int32GetDatum(t->attempt);
		args[2] = Int32GetDatum((int32) t->http_status);
		args[3] = CStringGetTextDatum(t->retry_after);
		if (t->retry_after[0] == '\0')
			nulls[3] = 'n';
		if (t->response != NULL && transport_error == NULL)
			args[4] = CStringGetTextDatum(t->response);
		else
			nulls[4] = 'n';
		if (transport_error != NULL)
			args[5] = CStringGetTextDatum(transport_error);
		else
			nulls[5] = 'n';
		args[6] = Float8GetDatum(t->duration_ms);

		if (!run_in_subxact("SELECT nmc.dispatcher_complete($1, $2, $3, $4, $5, $6, $7)",
							7, complete_types, args, nulls, &error))
		{
			Datum		fail_args[3] = {args[0], args[1], CStringGetTextDatum(error)};

			run_in_subxact("SELECT nmc.dispatcher_fail($1, $2, $3)", 3, fail_types, fail_args, NULL, NULL);
		}
	}
	commit_tx();
}

int
dispatcher_fire_due_timers(void)
{
	int64		ids[MAX_TIMERS_PER_PASS];
	int			n = 0;
	int			fired = 0;

	begin_tx("nevermisscall: finding due timers");
	if (SPI_execute("SELECT nmc.dispatcher_due_timers(500)", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "nmc.dispatcher_due_timers failed");
	for (uint64 i = 0; i < SPI_processed && n < MAX_TIMERS_PER_PASS; i++)
		ids[n++] = int_column(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, 0);
	commit_tx();

	for (int i = 0; i < n; i++)
	{
		Oid			argtypes[1] = {INT8OID};
		Datum		args[1] = {Int64GetDatum(ids[i])};

		begin_tx("nevermisscall: firing a timer");
		SPI_execute_with_args("SELECT nmc.timer_fire($1)", 1, argtypes, args, NULL, false, 0);
		commit_tx();
		fired++;
	}
	return fired;
}
