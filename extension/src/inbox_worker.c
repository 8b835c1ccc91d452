/*
 * inbox_worker.c — the inbox background worker: applies the Twilio webhooks
 * (calls, texts, status callbacks) accepted into nmc.webhook_inbox
 * (sql/telephony/webhook_inbox.sql). Owns its shared memory (a worker_common.h slot),
 * wake-at-commit for nmc.inbox_wake(), and the loop: run nmc.webhook_inbox_run
 * in one transaction per batch until the inbox is empty, then sleep on the
 * latch (or, while webhooks keep coming, only a few milliseconds, so they are
 * applied together). A batch that raises an error is rolled back and run again
 * with each webhook isolated, so one bad webhook is marked failed instead of
 * holding up the rest.
 */
#include "postgres.h"

#include <signal.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "dispatcher.h"
#include "inbox_worker.h"
#include "worker_common.h"

/* Webhooks per transaction: large enough to share a commit, small enough to stream. */
#define INBOX_BATCH 500
/* The worker looks even without a wake-up this often (a lost latch is not a lost webhook). */
#define INBOX_POLL_MS 1000
/*
 * When a batch was large enough to be applied together (sql/telephony/webhook_inbox.sql:
 * nmc.webhook_inbox_run's min_together), webhooks are arriving fast; the worker then
 * lets the next ones gather this long before looking again, which keeps
 * batches large (far cheaper per webhook). At ordinary rates it never waits.
 */
#define INBOX_GATHER_MS 4
#define INBOX_GATHER_FROM 8
#define INBOX_ERROR_BACKOFF_MS 1000

typedef struct InboxShared
{
	WorkerSlot	slot;
} InboxShared;

static InboxShared *shared = NULL;
static bool am_inbox_worker = false;
static bool wake_pending = false;

PG_FUNCTION_INFO_V1(nmc_inbox_wake);
PG_FUNCTION_INFO_V1(nmc_inbox_process);

static void
wake_on_commit(XactEvent event, void *arg)
{
	if ((event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT) && wake_pending && shared != NULL)
		worker_slot_wake(&shared->slot);
	/* A prepared transaction is committed elsewhere; the worker's poll finds its webhooks. */
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT || event == XACT_EVENT_PREPARE)
		wake_pending = false;
}

void
inbox_install(bool preloading)
{
	RegisterXactCallback(wake_on_commit, NULL);
	if (!preloading)
		return;
	worker_shmem_request("nevermisscall inbox", sizeof(InboxShared), (void **) &shared);
	worker_register("nmc_inbox_main", "nevermisscall inbox");
}

Datum
nmc_inbox_wake(PG_FUNCTION_ARGS)
{
	/* The worker's own writes never need to wake it: it runs until the inbox is empty. */
	if (!am_inbox_worker)
		wake_pending = true;
	PG_RETURN_VOID();
}

Datum
nmc_inbox_process(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {true, true};
	int			pid = 0;
	TimestampTz started_at = 0;
	TimestampTz heartbeat_at = 0;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "nmc.inbox_process must return a record");
	if (shared != NULL)
		worker_slot_read(&shared->slot, &pid, &started_at, &heartbeat_at);
	if (pid != 0)
	{
		values[0] = Int32GetDatum(pid);
		nulls[0] = false;
	}
	if (heartbeat_at != 0)
	{
		values[1] = TimestampTzGetDatum(heartbeat_at);
		nulls[1] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/* One batch in one transaction: how many webhooks it took, or -1 after an error (logged). */
static int
run_batch(bool isolate)
{
	int			taken = -1;

	PG_TRY();
	{
		bool		isnull;
		Datum		d;

		worker_begin_tx("nevermisscall: applying Twilio webhooks");
		if (SPI_execute(isolate ? "SELECT nmc.webhook_inbox_run(" CppAsString2(INBOX_BATCH) ", true)"
						: "SELECT nmc.webhook_inbox_run(" CppAsString2(INBOX_BATCH) ", false)", false, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "nmc.webhook_inbox_run returned no row");
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		taken = isnull ? 0 : DatumGetInt32(d);
		worker_commit_tx();
	}
	PG_CATCH();
	{
		HOLD_INTERRUPTS();
		EmitErrorReport();
		AbortOutOfAnyTransaction();
		FlushErrorState();
		RESUME_INTERRUPTS();
		taken = -1;
	}
	PG_END_TRY();
	return taken;
}

/* Until the inbox is empty: how many webhooks the last batch took, or -1 if even the isolated run failed. */
static int
drain(void)
{
	for (;;)
	{
		int			taken;

		CHECK_FOR_INTERRUPTS();
		if (worker_shutdown_requested)
			return 0;
		worker_slot_heartbeat(&shared->slot);
		taken = run_batch(false);
		if (taken < 0)
		{
			ereport(LOG, (errmsg("nevermisscall inbox: a batch failed; running it again one webhook at a time")));
			taken = run_batch(true);
			if (taken < 0)
				return -1;
		}
		if (taken < INBOX_BATCH)
			return taken;
	}
}

void
nmc_inbox_main(Datum arg)
{
	pqsignal(SIGTERM, worker_on_sigterm);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(nmc_dispatcher_database, NULL, 0);
	if (shared == NULL)
		ereport(FATAL,
				(errmsg("nevermisscall inbox worker needs shared memory"),
				 errhint("Add nevermisscall to shared_preload_libraries.")));
	am_inbox_worker = true;
	worker_slot_attach(&shared->slot);
	pgstat_report_appname("nevermisscall inbox");

	while (!worker_shutdown_requested && !worker_extension_ready())
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, INBOX_POLL_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		worker_slot_heartbeat(&shared->slot);
	}
	ereport(LOG, (errmsg("nevermisscall inbox worker started in database \"%s\"", nmc_dispatcher_database)));

	while (!worker_shutdown_requested)
	{
		long		timeout = INBOX_POLL_MS;
		int			last_batch;

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		last_batch = drain();
		worker_slot_heartbeat(&shared->slot);
		if (last_batch >= INBOX_GATHER_FROM && !worker_shutdown_requested)
		{
			/* Busy: gather for a moment, then look again whether woken or not. */
			(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, INBOX_GATHER_MS, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			continue;
		}
		if (last_batch < 0)
			timeout = INBOX_ERROR_BACKOFF_MS;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	/* Exit code 1 asks the postmaster to restart us (e.g. after pg_terminate_backend). */
	proc_exit(1);
}
