/*
 * dispatcher.c — the dispatcher background worker: the one process that
 * talks HTTP to Twilio, OpenAI and Google Maps. Its loop: note a heartbeat,
 * do the database work that is due (complete finished requests, fire timers,
 * claim jobs and start their requests), then sleep on one WaitEventSet that
 * covers the latch (woken at commit), postmaster death and libcurl's sockets,
 * until the soonest of curl's timer, the next due job or timer, and the idle
 * poll. Everything it does is a call into dispatcher_jobs.c or http_client.c;
 * what every worker does (start-up, slot, wake-at-commit) is worker_slot.c.
 * Also the SQL functions that wake it at commit (nmc.dispatcher_wake,
 * nmc.dispatcher_wake_at: only if the work is due before the round it
 * published, so a 60-second timer set by every inbound text does not cost it
 * a round each time) and report it (nmc.dispatcher_process).
 */
#include "postgres.h"

#include <signal.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "dispatcher.h"
#include "dispatcher_jobs.h"
#include "http_client.h"
#include "worker_slot.h"

/* The heartbeat is refreshed at least this often, even when idle. */
#define HEARTBEAT_MS 1000
/* After an unexpected database error, wait this long before trying again. */
#define ERROR_BACKOFF_MS 1000
/* On SIGTERM, requests still running get this long to finish and be recorded. */
#define SHUTDOWN_DRAIN_MS 1000
#define MAX_WAIT_EVENTS 256

static Worker dispatcher = WORKER_DEFINE("dispatcher", "nmc_dispatcher_main");
static WaitEventSet *wait_set = NULL;
static HttpTransfer *completing = NULL;

PG_FUNCTION_INFO_V1(nmc_dispatcher_wake);
PG_FUNCTION_INFO_V1(nmc_dispatcher_wake_at);
PG_FUNCTION_INFO_V1(nmc_dispatcher_process);

void
dispatcher_install(void)
{
	worker_define(&dispatcher);
}

Datum
nmc_dispatcher_wake(PG_FUNCTION_ARGS)
{
	worker_wake_now_at_commit(&dispatcher);
	PG_RETURN_VOID();
}

Datum
nmc_dispatcher_wake_at(PG_FUNCTION_ARGS)
{
	worker_wake_at_commit(&dispatcher, PG_GETARG_TIMESTAMPTZ(0));
	PG_RETURN_VOID();
}

Datum
nmc_dispatcher_process(PG_FUNCTION_ARGS)
{
	return worker_process_record(&dispatcher, fcinfo);
}

static long
ms_until(TimestampTz when)
{
	long		ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), when);

	/* TimestampDifferenceMilliseconds rounds down: never wake a hair early. */
	return when > GetCurrentTimestamp() ? ms + 1 : 0;
}

/* Rebuilt whenever libcurl's socket set changes: PostgreSQL 15 cannot remove events. */
static void
rebuild_wait_set_if_needed(void)
{
	int			n;
	bool		changed;
	const HttpSocket *socks = http_client_sockets(&n, &changed);

	if (wait_set != NULL && !changed)
		return;
	if (wait_set != NULL)
		FreeWaitEventSet(wait_set);
	wait_set = CreateWaitEventSet(TopMemoryContext, n + 2);
	AddWaitEventToSet(wait_set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(wait_set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	for (int i = 0; i < n; i++)
	{
		uint32		events = 0;

		if (socks[i].what & CURL_POLL_IN)
			events |= WL_SOCKET_READABLE;
		if (socks[i].what & CURL_POLL_OUT)
			events |= WL_SOCKET_WRITEABLE;
		if (events != 0)
			AddWaitEventToSet(wait_set, events, socks[i].fd, NULL, NULL);
	}
}

/* Sleeps until something happens; returns true if the latch was set. */
static bool
wait_for_events(long timeout_ms)
{
	WaitEvent	events[MAX_WAIT_EVENTS];
	int			n;
	bool		woken = false;

	rebuild_wait_set_if_needed();
	n = WaitEventSetWait(wait_set, timeout_ms, events, MAX_WAIT_EVENTS, PG_WAIT_EXTENSION);
	for (int i = 0; i < n; i++)
	{
		if (events[i].events & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			woken = true;
		}
		if (events[i].events & (WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE))
			http_client_socket_ready(events[i].fd,
									 (events[i].events & WL_SOCKET_READABLE) != 0,
									 (events[i].events & WL_SOCKET_WRITEABLE) != 0);
	}
	/*
	 * libcurl's timeout is handled when it is due even with nothing running: it
	 * also times the upkeep of its idle connections, and a due timeout never
	 * handled would make every later wait a zero-length one (a busy loop).
	 */
	if (http_client_running() > 0 || http_client_timeout_ms() == 0)
		http_client_timeout_expired();
	return woken;
}

static void
release_transfers(HttpTransfer *list)
{
	while (list != NULL)
	{
		HttpTransfer *next = list->next;

		dispatcher_free_transfer(list);
		list = next;
	}
}

/*
 * Claims what is due and starts it first (a new text should not wait for
 * bookkeeping), then records what finished, then fires due timers.
 */
static void
do_database_work(DispatchPlan *plan, bool claim)
{
	if (claim)
	{
		HttpTransfer *claimed = dispatcher_claim_jobs(Min(plan->claim_batch, plan->max_concurrency - http_client_running()), plan);

		while (claimed != NULL)
		{
			HttpTransfer *next = claimed->next;

			if (!http_client_start(claimed))
			{
				/* Not recorded as an attempt: the lease brings it back. */
				ereport(WARNING, (errmsg("nevermisscall dispatcher: could not start a request for job " INT64_FORMAT, claimed->job_id)));
				dispatcher_free_transfer(claimed);
			}
			claimed = next;
		}
		/* Let libcurl send what was just added before the bookkeeping below. */
		if (http_client_running() > 0)
			http_client_timeout_expired();
	}

	completing = http_client_take_finished();
	if (completing != NULL)
	{
		dispatcher_complete_jobs(completing, plan);
		release_transfers(completing);
		completing = NULL;
	}

	if (claim)
		dispatcher_fire_timers(plan);
}

/* When the database work is next due, from what the plan says is pending. */
static TimestampTz
next_work_time(const DispatchPlan *plan)
{
	long		next_ms = plan->idle_poll_ms;

	if (plan->next_timer_due_ms >= 0)
		next_ms = Min(next_ms, plan->next_timer_due_ms);
	/* At full capacity a due job waits for a request to finish instead. */
	if (plan->next_job_due_ms >= 0 && http_client_running() < plan->max_concurrency)
		next_ms = Min(next_ms, plan->next_job_due_ms);
	return TimestampTzPlusMilliseconds(GetCurrentTimestamp(), next_ms);
}

/* One round of database work; an unexpected error is logged, not fatal. */
static TimestampTz
guarded_database_work(DispatchPlan *plan, bool claim)
{
	TimestampTz next;

	PG_TRY();
	{
		do_database_work(plan, claim);
		next = next_work_time(plan);
	}
	PG_CATCH();
	{
		worker_recover_from_error();
		/* Their results are lost; the leases bring the jobs back. */
		release_transfers(completing);
		completing = NULL;
		next = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ERROR_BACKOFF_MS);
	}
	PG_END_TRY();
	return next;
}

void
nmc_dispatcher_main(Datum arg)
{
	static DispatchPlan plan;	/* filled by dispatcher_read_plan */
	bool		db_work_due = true;
	TimestampTz next_db_work_at = 0;
	TimestampTz shutdown_deadline = 0;

	if (!worker_start(&dispatcher))
		proc_exit(1);
	dispatcher_read_plan(&plan);
	http_client_init(plan.max_concurrency);

	for (;;)
	{
		long		timeout = HEARTBEAT_MS;

		worker_tick(&dispatcher);
		if (worker_shutdown_requested && shutdown_deadline == 0)
			shutdown_deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), SHUTDOWN_DRAIN_MS);

		if (db_work_due || GetCurrentTimestamp() >= next_db_work_at)
		{
			/* Before any snapshot: a commit from now on wakes us (worker_publish_plan). */
			worker_publish_plan(&dispatcher, 0);
			next_db_work_at = guarded_database_work(&plan, !worker_shutdown_requested);
			db_work_due = false;
			worker_publish_plan(&dispatcher, next_db_work_at);
		}
		if (worker_shutdown_requested && !http_client_has_finished() &&
			(http_client_running() == 0 || GetCurrentTimestamp() >= shutdown_deadline))
			break;

		timeout = Min(timeout, ms_until(next_db_work_at));
		if (http_client_timeout_ms() >= 0)
			timeout = Min(timeout, http_client_timeout_ms());
		if (wait_for_events(timeout))
			db_work_due = true;
		/* A finished request is recorded at once: someone may be waiting on it. */
		if (http_client_has_finished())
			db_work_due = true;
	}

	if (http_client_running() > 0)
		ereport(LOG, (errmsg("nevermisscall dispatcher stopping with %d requests in flight; their leases will bring them back",
							 http_client_running())));
	http_client_shutdown();
	/* Exit code 1 asks the postmaster to restart us (e.g. after pg_terminate_backend). */
	proc_exit(1);
}
