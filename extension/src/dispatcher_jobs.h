/*
 * dispatcher_jobs.h — the dispatcher's conversations with the database: each
 * call is one short transaction (or, for timers, one per timer) over SPI.
 */
#ifndef NMC_DISPATCHER_JOBS_H
#define NMC_DISPATCHER_JOBS_H

#include "postgres.h"

#include "http_client.h"

#define MAX_TIMERS_PER_PASS 500

typedef struct DispatchPlan
{
	long		next_job_due_ms;	/* -1: no job pending */
	long		next_timer_due_ms;	/* -1: no timer pending */
	int			idle_poll_ms;
	int			max_concurrency;
	int			claim_batch;
	int			ndue_timers;	/* timers found due by the last claim */
	int64		due_timers[MAX_TIMERS_PER_PASS];
} DispatchPlan;

extern HttpTransfer *dispatcher_claim_jobs(int max_jobs, DispatchPlan *plan);
extern void dispatcher_read_plan(DispatchPlan *plan);
extern void dispatcher_complete_jobs(HttpTransfer *finished, DispatchPlan *plan);
extern void dispatcher_fire_timers(const DispatchPlan *plan);
extern void dispatcher_free_transfer(HttpTransfer *t);

#endif
