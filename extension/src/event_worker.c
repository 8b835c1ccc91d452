/*
 * event_worker.c — the events background worker: the only numberer of the
 * event feed (sql/feed/events.sql). Writers append to nmc.events_pending and
 * wake it at commit (nmc.events_wake); its loop runs nmc.events_number in one
 * transaction per batch until nothing is pending, then sleeps on the latch.
 * Being alone to move the businesses' counters, it makes no writer wait for
 * another. Also nmc.events_process; the rest of a worker's life is
 * worker_slot.c.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"

#include "event_worker.h"
#include "spi_row.h"
#include "spi_statement.h"
#include "worker_slot.h"

/* It looks even without a wake-up this often (a lost latch is not a lost event). */
#define EVENTS_POLL_MS 1000
#define EVENTS_ERROR_BACKOFF_MS 1000

static Worker events = WORKER_DEFINE("events", "nmc_events_main");
static SpiStatement number_statement =
	SPI_STATEMENT("SELECT nmc.events_number() AS taken, nmc.setting_int('events_batch_size') AS batch_size", 0);

PG_FUNCTION_INFO_V1(nmc_events_wake);
PG_FUNCTION_INFO_V1(nmc_events_process);

void
event_worker_install(void)
{
	worker_define(&events);
}

Datum
nmc_events_wake(PG_FUNCTION_ARGS)
{
	worker_wake_now_at_commit(&events);
	PG_RETURN_VOID();
}

Datum
nmc_events_process(PG_FUNCTION_ARGS)
{
	return worker_process_record(&events, fcinfo);
}

/* One batch in one transaction: how many it took, and whether that was all it may take (-1 after an error, logged). */
static int
run_batch(bool *full)
{
	int			taken = -1;

	PG_TRY();
	{
		HeapTuple	row;
		TupleDesc	desc;

		worker_begin_tx("nevermisscall: numbering events");
		if (spi_statement_run(&number_statement, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "nmc.events_number returned no row");
		row = SPI_tuptable->vals[0];
		desc = SPI_tuptable->tupdesc;
		taken = (int) spi_int_or(row, desc, "taken", 0);
		*full = taken >= spi_int(row, desc, "batch_size");
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

void
nmc_events_main(Datum arg)
{
	if (!worker_start(&events))
		proc_exit(1);
	while (!worker_shutdown_requested)
	{
		bool		full = false;
		int			taken;

		CHECK_FOR_INTERRUPTS();
		worker_tick(&events);
		taken = run_batch(&full);
		if (taken > 0 && full)
			continue;
		worker_sleep(taken < 0 ? EVENTS_ERROR_BACKOFF_MS : EVENTS_POLL_MS, taken >= 0);
	}
	/* Exit code 1 asks the postmaster to restart us (e.g. after pg_terminate_backend). */
	proc_exit(1);
}
