/*
 * worker_slot.h — the skeleton both background workers of the extension
 * (dispatcher.c, inbox_worker.c) are built on: registering one, its slot in
 * shared memory (latch, pid, start, heartbeat, next planned round), waking it
 * at commit, starting it (signals, database, waiting for the extension's SQL),
 * the transactions around its SPI work, and recovering from an error.
 */
#ifndef NMC_WORKER_SLOT_H
#define NMC_WORKER_SLOT_H

#include "postgres.h"

#include <signal.h>

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "storage/latch.h"
#include "storage/spin.h"

/* One per worker, in shared memory. */
typedef struct WorkerSlot
{
	slock_t		mutex;			/* guards the fields below */
	Latch	   *latch;			/* NULL while the worker is not running */
	int			pid;
	TimestampTz started_at;
	TimestampTz heartbeat_at;
	TimestampTz planned_work_at;	/* 0: no plan (planning now): any wake counts */
} WorkerSlot;

/* One per worker, in every backend's memory (a static of the worker's file). */
typedef struct Worker
{
	const char *name;			/* "nevermisscall <name>": process, application and shared memory name */
	const char *main_function;	/* its entry point in this library */
	WorkerSlot *slot;			/* NULL unless the library was preloaded */
	bool		is_self;		/* this process is that worker (its own writes never wake it) */
	TimestampTz wake_before;	/* this transaction's request: DT_NOEND none, DT_NOBEGIN any */
	TimestampTz plans_made_at;	/* in the worker: when its cached plans were last reset */
} Worker;

#define WORKER_DEFINE(name, main_function) {name, main_function, NULL, false, DT_NOEND, 0}

/* nmc.database (declared in nevermisscall.c): where the workers run. */
extern char *worker_database;
extern volatile sig_atomic_t worker_shutdown_requested;

/* From _PG_init: every backend learns the worker; preloading also registers it and its slot. */
extern void worker_define(Worker *w);

/* In a backend: wake the worker when this transaction commits, if work due at `due` comes before its plan. */
extern void worker_wake_at_commit(Worker *w, TimestampTz due);
#define worker_wake_now_at_commit(w) worker_wake_at_commit((w), DT_NOBEGIN)
/* The record of nmc.<name>_process(): its columns pid, heartbeat_at, started_at, by name. */
extern Datum worker_process_record(Worker *w, FunctionCallInfo fcinfo);

/* In the worker: set up, then wait for the extension; false if asked to stop meanwhile. */
extern bool worker_start(Worker *w);
/* Once per round of its loop: heartbeat and configuration reload. */
extern void worker_tick(Worker *w);
/* Planning starts (0), or the next round is due then: a commit wakes it only before. */
extern void worker_publish_plan(Worker *w, TimestampTz planned_work_at);
extern void worker_sleep(long timeout_ms, bool on_latch);
extern void worker_recover_from_error(void);

extern void worker_begin_tx(const char *activity);
extern void worker_commit_tx(void);

#endif
