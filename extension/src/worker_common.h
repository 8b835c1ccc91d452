/*
 * worker_common.h — what the extension's background workers (the dispatcher,
 * the inbox worker) share: registration, the SIGTERM flag, their struct in
 * shared memory with its slot (latch, pid, start and heartbeat), their
 * transactions around SPI,
 * and waiting until the extension's SQL is installed.
 */
#ifndef NMC_WORKER_COMMON_H
#define NMC_WORKER_COMMON_H

#include "postgres.h"

#include <signal.h>

#include "datatype/timestamp.h"
#include "storage/latch.h"
#include "storage/spin.h"

typedef struct WorkerSlot
{
	slock_t		mutex;			/* guards the fields below (and a user's own) */
	Latch	   *latch;			/* NULL while the worker is not running */
	int			pid;
	TimestampTz started_at;
	TimestampTz heartbeat_at;
} WorkerSlot;

extern volatile sig_atomic_t worker_shutdown_requested;

extern void worker_register(const char *function_name, const char *name);
extern void worker_on_sigterm(SIGNAL_ARGS);

/*
 * Asks for a struct of `size` bytes in shared memory, named `name`, that
 * starts with a WorkerSlot (initialised here) and is zeroed otherwise; *out
 * points to it once shared memory exists. Call from _PG_init while
 * preloading. One pair of shmem hooks serves every caller.
 */
extern void worker_shmem_request(const char *name, Size size, void **out);

extern void worker_slot_init(WorkerSlot *slot);
extern void worker_slot_attach(WorkerSlot *slot);
extern void worker_slot_heartbeat(WorkerSlot *slot);
extern void worker_slot_read(WorkerSlot *slot, int *pid, TimestampTz *started_at, TimestampTz *heartbeat_at);
extern void worker_slot_wake(WorkerSlot *slot);

extern void worker_begin_tx(const char *activity);
extern void worker_commit_tx(void);
extern bool worker_extension_ready(void);

#endif
