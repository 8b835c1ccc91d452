/*
 * worker_slot.c — what every background worker of the extension is built on
 * (worker_slot.h): registration (restarted a second after it exits), its slot
 * in shared memory, wake-at-commit, start-up, SIGTERM, its transactions
 * around SPI, and recovery from an error. dispatcher.c and inbox_worker.c
 * hold only what is their own: their loop and their SQL.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/plancache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "worker_slot.h"

/* While the extension is missing or of another version, a worker looks this often. */
#define EXTENSION_POLL_MS 1000
#define MAX_WORKERS 4
/* How often a worker plans its statements again. */
#define WORKER_REPLAN_MS 5000

char	   *worker_database = NULL;
volatile sig_atomic_t worker_shutdown_requested = false;

static Worker *workers[MAX_WORKERS];
static int	n_workers = 0;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static bool wake_callback_registered = false;

static void
request_shmem(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	/* ShmemInitStruct rounds each struct up to a cache line. */
	RequestAddinShmemSpace(CACHELINEALIGN(sizeof(WorkerSlot)) * n_workers);
}

static void
startup_shmem(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	for (int i = 0; i < n_workers; i++)
	{
		bool		found;
		char	   *name = psprintf("nevermisscall %s", workers[i]->name);
		WorkerSlot *slot = ShmemInitStruct(name, sizeof(WorkerSlot), &found);

		if (!found)
		{
			memset(slot, 0, sizeof(WorkerSlot));
			SpinLockInit(&slot->mutex);
		}
		workers[i]->slot = slot;
	}
	LWLockRelease(AddinShmemInitLock);
}

void
worker_define(Worker *w)
{
	BackgroundWorker bgw;

	if (n_workers == MAX_WORKERS)
		elog(ERROR, "nevermisscall: too many background workers");
	workers[n_workers++] = w;
	if (!process_shared_preload_libraries_in_progress)
		return;
	if (n_workers == 1)
	{
		prev_shmem_request_hook = shmem_request_hook;
		shmem_request_hook = request_shmem;
		prev_shmem_startup_hook = shmem_startup_hook;
		shmem_startup_hook = startup_shmem;
	}
	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = 1;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "nevermisscall");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "%s", w->main_function);
	snprintf(bgw.bgw_name, BGW_MAXLEN, "nevermisscall %s", w->name);
	snprintf(bgw.bgw_type, BGW_MAXLEN, "nevermisscall %s", w->name);
	RegisterBackgroundWorker(&bgw);
}

/*
 * At commit, the latch of each worker this transaction asked to wake, if the
 * work comes before the round it planned; at abort (or PREPARE: committed
 * elsewhere, the worker's poll finds it) the requests are forgotten.
 */
static void
wake_at_commit(XactEvent event, void *arg)
{
	bool		commit = event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT;

	if (!commit && event != XACT_EVENT_ABORT && event != XACT_EVENT_PARALLEL_ABORT &&
		event != XACT_EVENT_PREPARE)
		return;
	for (int i = 0; i < n_workers; i++)
	{
		Worker	   *w = workers[i];
		Latch	   *latch = NULL;

		if (w->wake_before == DT_NOEND)
			continue;
		if (commit && w->slot != NULL)
		{
			SpinLockAcquire(&w->slot->mutex);
			if (w->slot->planned_work_at == 0 || w->wake_before < w->slot->planned_work_at)
				latch = w->slot->latch;
			SpinLockRelease(&w->slot->mutex);
			if (latch != NULL)
				SetLatch(latch);
		}
		w->wake_before = DT_NOEND;
	}
}

/*
 * Registered lazily, by the first transaction of this backend that asks for
 * a wake (as pg_net does), so a backend that never queues work carries no
 * callback. It then stays: PostgreSQL 15 cannot unregister a transaction
 * callback from inside one, and registering anew per transaction would grow
 * the backend's callback list by one each time.
 */
void
worker_wake_at_commit(Worker *w, TimestampTz due)
{
	/* A worker's own writes never need to wake it: it plans again anyway. */
	if (w->is_self)
		return;
	if (!wake_callback_registered)
	{
		RegisterXactCallback(wake_at_commit, NULL);
		wake_callback_registered = true;
	}
	if (due < w->wake_before)
		w->wake_before = due;
}

static void
slot_read(Worker *w, int *pid, TimestampTz *started_at, TimestampTz *heartbeat_at)
{
	*pid = 0;
	*started_at = *heartbeat_at = 0;
	if (w->slot == NULL)
		return;
	SpinLockAcquire(&w->slot->mutex);
	*pid = w->slot->pid;
	*started_at = w->slot->started_at;
	*heartbeat_at = w->slot->heartbeat_at;
	SpinLockRelease(&w->slot->mutex);
}

Datum
worker_process_record(Worker *w, FunctionCallInfo fcinfo)
{
	TupleDesc	tupdesc;
	Datum	   *values;
	bool	   *nulls;
	int			pid;
	TimestampTz started_at;
	TimestampTz heartbeat_at;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "nmc.%s_process must return a record", w->name);
	slot_read(w, &pid, &started_at, &heartbeat_at);
	values = palloc0(sizeof(Datum) * tupdesc->natts);
	nulls = palloc(sizeof(bool) * tupdesc->natts);
	for (int i = 0; i < tupdesc->natts; i++)
	{
		const char *col = NameStr(TupleDescAttr(tupdesc, i)->attname);

		nulls[i] = true;
		if (strcmp(col, "pid") == 0 && pid != 0)
			values[i] = Int32GetDatum(pid);
		else if (strcmp(col, "heartbeat_at") == 0 && heartbeat_at != 0)
			values[i] = TimestampTzGetDatum(heartbeat_at);
		else if (strcmp(col, "started_at") == 0 && pid != 0 && started_at != 0)
			values[i] = TimestampTzGetDatum(started_at);
		else
			continue;
		nulls[i] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

static void
on_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	worker_shutdown_requested = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

static void
detach(int code, Datum arg)
{
	WorkerSlot *slot = (WorkerSlot *) DatumGetPointer(arg);

	SpinLockAcquire(&slot->mutex);
	slot->latch = NULL;
	slot->pid = 0;
	SpinLockRelease(&slot->mutex);
}

/*
 * Whether the database has the extension at this library's version. A library
 * newer than the installed SQL waits, touching no table, until ALTER EXTENSION
 * UPDATE has committed: a worker running the old SQL's functions meanwhile
 * would take table locks in its own order and could deadlock with the update.
 */
static bool
extension_ready(void)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	bool		ready;

	worker_begin_tx("nevermisscall: waiting for the extension");
	args[0] = CStringGetTextDatum(NMC_EXTVERSION);
	SPI_execute_with_args("SELECT 1 FROM pg_extension WHERE extname = 'nevermisscall' AND extversion = $1",
						  1, argtypes, args, NULL, true, 1);
	ready = SPI_processed == 1;
	worker_commit_tx();
	return ready;
}

bool
worker_start(Worker *w)
{
	/* The default handler exits inside the signal: unsafe in the middle of libcurl. */
	pqsignal(SIGTERM, on_sigterm);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(worker_database, NULL, 0);
	if (w->slot == NULL)
		ereport(FATAL,
				(errmsg("nevermisscall %s worker needs shared memory", w->name),
				 errhint("Add nevermisscall to shared_preload_libraries.")));
	w->is_self = true;
	SpinLockAcquire(&w->slot->mutex);
	w->slot->latch = MyLatch;
	w->slot->pid = MyProcPid;
	w->slot->started_at = GetCurrentTimestamp();
	w->slot->heartbeat_at = w->slot->started_at;
	w->slot->planned_work_at = 0;
	SpinLockRelease(&w->slot->mutex);
	on_shmem_exit(detach, PointerGetDatum(w->slot));
	pgstat_report_appname(psprintf("nevermisscall %s", w->name));

	while (!worker_shutdown_requested && !extension_ready())
	{
		worker_sleep(EXTENSION_POLL_MS, true);
		worker_tick(w);
	}
	if (worker_shutdown_requested)
		return false;
	ereport(LOG, (errmsg("nevermisscall %s worker started in database \"%s\"", w->name, worker_database)));
	return true;
}

void
worker_tick(Worker *w)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&w->slot->mutex);
	w->slot->heartbeat_at = now;
	SpinLockRelease(&w->slot->mutex);
	/*
	 * A worker lives for days and caches its plans, each made on the table sizes
	 * of its first use: a table that grew since (a burst, a fresh install) would
	 * keep plans made for a few rows. Planning again from time to time sees the
	 * tables as they are (the planner scales the last ANALYZE to their size now).
	 */
	if (TimestampDifferenceExceeds(w->plans_made_at, now, WORKER_REPLAN_MS))
	{
		ResetPlanCache();
		w->plans_made_at = now;
	}
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

void
worker_publish_plan(Worker *w, TimestampTz planned_work_at)
{
	SpinLockAcquire(&w->slot->mutex);
	w->slot->planned_work_at = planned_work_at;
	SpinLockRelease(&w->slot->mutex);
}

/* Sleeps up to timeout_ms; on_latch: a wake (or SIGTERM) ends it sooner. */
void
worker_sleep(long timeout_ms, bool on_latch)
{
	(void) WaitLatch(MyLatch, (on_latch ? WL_LATCH_SET : 0) | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 timeout_ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
}

/* In a PG_CATCH: logs the error and leaves no transaction open. */
void
worker_recover_from_error(void)
{
	HOLD_INTERRUPTS();
	EmitErrorReport();
	AbortOutOfAnyTransaction();
	FlushErrorState();
	RESUME_INTERRUPTS();
}

void
worker_begin_tx(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

void
worker_commit_tx(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}
