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

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/timestamp.h"

#include "inbox_worker.h"
#include "spi_row.h"
#include "spi_statement.h"
#include "worker_slot.h"

/* The worker looks even without a wake-up this often (a lost latch is not a lost webhook). */
#define INBOX_POLL_MS 1000
/*
 * When a batch held at least inbox_min_together webhooks (a setting),
 * webhooks are arriving fast; the worker then lets the next ones gather this
 * long before looking again, which keeps batches large (far cheaper per
 * webhook). At ordinary rates it never waits.
 */
#define INBOX_GATHER_MS 4
#define INBOX_ERROR_BACKOFF_MS 1000

static Worker inbox = WORKER_DEFINE("inbox", "nmc_inbox_main");
static SpiStatement run_statement =
	SPI_STATEMENT("SELECT nmc.webhook_inbox_run(NULL, $1) AS taken, "
				  "nmc.setting_int('inbox_batch_size') AS batch_size, "
				  "nmc.setting_int('inbox_min_together') AS min_together", 1, BOOLOID);

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

/* What a batch took, and the settings it ran with (nmc.settings: inbox_*). */
typedef struct InboxBatch
{
	int			taken;			/* -1 after an error (logged) */
	int			batch_size;
	int			min_together;
} InboxBatch;

/* One batch in one transaction. */
static InboxBatch
run_batch(bool isolate)
{
	InboxBatch	b = {-1, 0, 0};

	PG_TRY();
	{
		Datum		args[1] = {BoolGetDatum(isolate)};
		HeapTuple	row;
		TupleDesc	desc;

		worker_begin_tx("nevermisscall: applying Twilio webhooks");
		if (spi_statement_run(&run_statement, args, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "nmc.webhook_inbox_run returned no row");
		row = SPI_tuptable->vals[0];
		desc = SPI_tuptable->tupdesc;
		b.taken = (int) spi_int_or(row, desc, "taken", 0);
		b.batch_size = (int) spi_int(row, desc, "batch_size");
		b.min_together = (int) spi_int(row, desc, "min_together");
		worker_commit_tx();
	}
	PG_CATCH();
	{
		worker_recover_from_error();
		b.taken = -1;
	}
	PG_END_TRY();
	return b;
}

/* Until the inbox is empty: the last batch (taken -1 if even the isolated run failed). */
static InboxBatch
drain(void)
{
	for (;;)
	{
		InboxBatch	b;

		CHECK_FOR_INTERRUPTS();
		if (worker_shutdown_requested)
			return (InboxBatch) {0, 0, 0};
		worker_tick(&inbox);
		b = run_batch(false);
		if (b.taken < 0)
		{
			ereport(LOG, (errmsg("nevermisscall inbox: a batch failed; running it again one webhook at a time")));
			b = run_batch(true);
			if (b.taken < 0)
				return b;
		}
		if (b.taken < b.batch_size || b.batch_size <= 0)
			return b;
	}
}

void
nmc_inbox_main(Datum arg)
{
	if (!worker_start(&inbox))
		proc_exit(1);
	while (!worker_shutdown_requested)
	{
		InboxBatch	last;

		worker_tick(&inbox);
		last = drain();
		if (worker_shutdown_requested)
			break;
		if (last.taken > 0 && last.taken >= last.min_together)
			/* Busy: gather for a moment, then look again whether woken or not. */
			worker_sleep(INBOX_GATHER_MS, false);
		else
			worker_sleep(last.taken < 0 ? INBOX_ERROR_BACKOFF_MS : INBOX_POLL_MS, true);
	}
	/* Exit code 1 asks the postmaster to restart us (e.g. after pg_terminate_backend). */
	proc_exit(1);
}
