/*
 * event_worker.h — the events background worker (event_worker.c): numbers the
 * events written to nmc.events_pending, per business, in the order they
 * committed.
 */
#ifndef NMC_EVENT_WORKER_H
#define NMC_EVENT_WORKER_H

#include "postgres.h"

/* From _PG_init (worker_define). */
extern void event_worker_install(void);
extern PGDLLEXPORT void nmc_events_main(Datum arg) pg_attribute_noreturn();

#endif
