/*
 * dispatcher_jobs.h — the dispatcher's conversations with the database: each
 * call is one short transaction (or, for timers, one per timer) over SPI.
 */
#ifndef NMC_DISPATCHER_JOBS_H
#define NMC_DISPATCHER_JOBS_H

#include "postgres.h"

#include "http_client.h"

typedef struct DispatchPlan
{
	long		next_job_due_ms;	/* -1: no job pending */
	long		next_timer_due_ms;	/* -1: no timer pending */
	int			idle_poll_ms;
	int			max_concurrency;
	int			claim_batch;
} DispatchPlan;

extern bool dispatcher_extension_ready(void);
extern HttpTransfer *dispatcher_claim_jobs(int max_jobs, DispatchPlan *plan);
extern void dispatcher_complete_jobs(HttpTransfer *finished);
extern int	dispatcher_fire_due_timers(void);
extern void dispatcher_free_transfer(HttpTransfer *t);

#endif
