/*
 * worker_common.c — the pieces every background worker of the extension
 * uses: registering it (restarted a second after it exits), the SIGTERM
 * handler, its slot in shared memory, a transaction with SPI and a
 * snapshot around a piece of database work, and waiting for the extension.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "worker_common.h"

volatile sig_atomic_t worker_shutdown_requested = false;

void
worker_register(const char *function_name, const char *name)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 1;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "nevermisscall");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "%s", function_name);
	snprintf(worker.bgw_name, BGW_MAXLEN, "%s", name);
	snprintf(worker.bgw_type, BGW_MAXLEN, "%s", name);
	RegisterBackgroundWorker(&worker);
}

void
worker_on_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	worker_shutdown_requested = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

#define MAX_SHMEM_USERS 4

typedef struct ShmemUser
{
	const char *name;
	Size		size;
	void	  **out;
} ShmemUser;

static ShmemUser shmem_users[MAX_SHMEM_USERS];
static int	n_shmem_users = 0;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
request_shmem(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	for (int i = 0; i < n_shmem_users; i++)
		RequestAddinShmemSpace(MAXALIGN(shmem_users[i].size));
}

static void
startup_shmem(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	for (int i = 0; i < n_shmem_users; i++)
	{
		bool		found;
		void	   *p = ShmemInitStruct(shmem_users[i].name, shmem_users[i].size, &found);

		if (!found)
		{
			memset(p, 0, shmem_users[i].size);
			worker_slot_init((WorkerSlot *) p);
		}
		*shmem_users[i].out = p;
	}
	LWLockRelease(AddinShmemInitLock);
}

void
worker_shmem_request(const char *name, Size size, void **out)
{
	if (n_shmem_users == MAX_SHMEM_USERS)
		elog(ERROR, "nevermisscall: too many shared memory structs");
	if (n_shmem_users == 0)
	{
		prev_shmem_request_hook = shmem_request_hook;
		shmem_request_hook = request_shmem;
		prev_shmem_startup_hook = shmem_startup_hook;
		shmem_startup_hook = startup_shmem;
	}
	shmem_users[n_shmem_users++] = (ShmemUser) {name, size, out};
}

void
worker_slot_init(WorkerSlot *slot)
{
	memset(slot, 0, sizeof(WorkerSlot));
	SpinLockInit(&slot->mutex);
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

/* The calling worker takes the slot until it exits. */
void
worker_slot_attach(WorkerSlot *slot)
{
	SpinLockAcquire(&slot->mutex);
	slot->latch = MyLatch;
	slot->pid = MyProcPid;
	slot->started_at = GetCurrentTimestamp();
	slot->heartbeat_at = slot->started_at;
	SpinLockRelease(&slot->mutex);
	on_shmem_exit(detach, PointerGetDatum(slot));
}

void
worker_slot_heartbeat(WorkerSlot *slot)
{
	SpinLockAcquire(&slot->mutex);
	slot->heartbeat_at = GetCurrentTimestamp();
	SpinLockRelease(&slot->mutex);
}

/* pid 0 when no worker holds the slot. */
void
worker_slot_read(WorkerSlot *slot, int *pid, TimestampTz *started_at, TimestampTz *heartbeat_at)
{
	SpinLockAcquire(&slot->mutex);
	*pid = slot->pid;
	*started_at = slot->started_at;
	*heartbeat_at = slot->heartbeat_at;
	SpinLockRelease(&slot->mutex);
}

void
worker_slot_wake(WorkerSlot *slot)
{
	Latch	   *latch;

	SpinLockAcquire(&slot->mutex);
	latch = slot->latch;
	SpinLockRelease(&slot->mutex);
	if (latch != NULL)
		SetLatch(latch);
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

/*
 * Whether the database has the extension at this library's version. A library
 * newer than the installed SQL waits, touching no table, until ALTER EXTENSION
 * UPDATE has committed: a worker running the old SQL's functions meanwhile
 * would take table locks in its own order and could deadlock with the update.
 */
bool
worker_extension_ready(void)
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
