/*
 * dispatcher_shmem.c — shared state between backends and the dispatcher,
 * and wake-at-commit: nmc.dispatcher_wake() only marks the transaction; the
 * commit callback sets the worker's latch, and an abort forgets it, so work
 * inserted by a rolled-back transaction never wakes anyone.
 * nmc.dispatcher_wake_at(due) wakes it only if the work is due before the
 * worker's published plan (planned_work_at; 0 while it is planning, so a commit
 * racing with the plan always wakes it): a 60-second timer set by every inbound
 * text does not cost the worker a round of database work each time.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "dispatcher_shmem.h"
#include "worker_common.h"

typedef struct DispatcherShared
{
	WorkerSlot	slot;
	TimestampTz planned_work_at;	/* 0: planning now, wake for anything; under slot.mutex */
} DispatcherShared;

bool		am_dispatcher = false;

static DispatcherShared *shared = NULL;
static bool wake_pending = false;
static TimestampTz wake_before = DT_NOEND;

PG_FUNCTION_INFO_V1(nmc_dispatcher_wake);
PG_FUNCTION_INFO_V1(nmc_dispatcher_wake_at);
PG_FUNCTION_INFO_V1(nmc_dispatcher_process);

void
dispatcher_shmem_install_hooks(void)
{
	/* planned_work_at starts at 0 (planning now: wake for anything). */
	worker_shmem_request("nevermisscall dispatcher", sizeof(DispatcherShared), (void **) &shared);
}

static void
wake_on_commit(XactEvent event, void *arg)
{
	Latch	   *latch = NULL;

	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if ((wake_pending || wake_before != DT_NOEND) && shared != NULL)
			{
				SpinLockAcquire(&shared->slot.mutex);
				if (wake_pending || shared->planned_work_at == 0 || wake_before < shared->planned_work_at)
					latch = shared->slot.latch;
				SpinLockRelease(&shared->slot.mutex);
				if (latch != NULL)
					SetLatch(latch);
			}
			wake_pending = false;
			wake_before = DT_NOEND;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			wake_pending = false;
			wake_before = DT_NOEND;
			break;
		default:
			break;
	}
}

void
dispatcher_wake_install_callback(void)
{
	RegisterXactCallback(wake_on_commit, NULL);
}

void
dispatcher_shmem_attach_worker(void)
{
	if (shared == NULL)
		ereport(FATAL,
				(errmsg("nevermisscall dispatcher needs shared memory"),
				 errhint("Add nevermisscall to shared_preload_libraries.")));
	am_dispatcher = true;
	worker_slot_attach(&shared->slot);
}

void
dispatcher_shmem_heartbeat(void)
{
	worker_slot_heartbeat(&shared->slot);
}

Datum
nmc_dispatcher_wake(PG_FUNCTION_ARGS)
{
	/* The dispatcher's own writes never need to wake it: it re-plans anyway. */
	if (!am_dispatcher)
		wake_pending = true;
	PG_RETURN_VOID();
}

Datum
nmc_dispatcher_wake_at(PG_FUNCTION_ARGS)
{
	TimestampTz due = PG_GETARG_TIMESTAMPTZ(0);

	if (!am_dispatcher && due < wake_before)
		wake_before = due;
	PG_RETURN_VOID();
}

/* The worker: planning starts (0) or the next round is due at this time. */
void
dispatcher_shmem_publish_plan(TimestampTz planned_work_at)
{
	SpinLockAcquire(&shared->slot.mutex);
	shared->planned_work_at = planned_work_at;
	SpinLockRelease(&shared->slot.mutex);
}

Datum
nmc_dispatcher_process(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {true, true, true};
	int			pid = 0;
	TimestampTz heartbeat_at = 0;
	TimestampTz started_at = 0;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "nmc.dispatcher_process must return a record");
	if (shared != NULL)
	{
		worker_slot_read(&shared->slot, &pid, &started_at, &heartbeat_at);
	}
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
	if (started_at != 0 && pid != 0)
	{
		values[2] = TimestampTzGetDatum(started_at);
		nulls[2] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
