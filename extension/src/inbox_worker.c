/*
 * inbox_worker.c — the inbox background worker: applies the Twilio webhooks
 * (calls, texts, status callbacks) accepted into nmc.webhook_inbox
 * (sql/telephony/webhook_inbox.sql). Its loop: run nmc.webhook_inbox_run in one
 * transaction per batch until the inbox is empty, then sleep on the latch
 * (or, while webhooks keep coming, only a few milliseconds, so they are
 * applied together). A batch that raises an error is rolled back and run again
 * with each webhook isolated, so one bad webhook is marked failed instead of
 * holding up the rest. Also nmc.inbox_wake (wake it at commit) and
 * nmc.inbox_process; the rest of a worker's life is worker_slot.c.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/timestamp.h"

#include "inbox_worker.h"
#include "spi_row.h"
#include "worker_slot.h"

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

static Worker inbox = WORKER_DEFINE("inbox", "nmc_inbox_main");

PG_FUNCTION_INFO_V1(nmc_inbox_wake);
PG_FUNCTION_INFO_V1(nmc_inbox_process);

void
inbox_install(void)
{
	worker_define(&inbox);
}

Datum
nmc_inbox_wake(PG_FUNCTION_ARGS)
{
	worker_wake_now_at_commit(&inbox);
	PG_RETURN_VOID();
}

Datum
nmc_inbox_process(PG_FUNCTION_ARGS)
{
	return worker_process_record(&inbox, fcinfo);
}

/* One batch in one transaction: how many webhooks it took, or -1 after an error (logged). */
static int
run_batch(bool isolate)
{
	int			taken = -1;

	PG_TRY();
	{
		worker_begin_tx("nevermisscall: applying Twilio webhooks");
		if (SPI_execute(isolate ? "SELECT nmc.webhook_inbox_run(" CppAsString2(INBOX_BATCH) ", true) AS taken"
						: "SELECT nmc.webhook_inbox_run(" CppAsString2(INBOX_BATCH) ", false) AS taken", false, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "nmc.webhook_inbox_run returned no row");
		taken = (int) spi_int_or(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, "taken", 0);
		worker_commit_tx();
	}
	PG_CATCH();
	{
		worker_recover_from_error();
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
		worker_tick(&inbox);
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
	if (!worker_start(&inbox))
		proc_exit(1);
	while (!worker_shutdown_requested)
	{
		int			last_batch;

		worker_tick(&inbox);
		last_batch = drain();
		if (worker_shutdown_requested)
			break;
		if (last_batch >= INBOX_GATHER_FROM)
			/* Busy: gather for a moment, then look again whether woken or not. */
			worker_sleep(INBOX_GATHER_MS, false);
		else
			worker_sleep(last_batch < 0 ? INBOX_ERROR_BACKOFF_MS : INBOX_POLL_MS, true);
	}
	/* Exit code 1 asks the postmaster to restart us (e.g. after pg_terminate_backend). */
	proc_exit(1);
}
