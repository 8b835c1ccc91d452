/*
 * dispatcher.h — the dispatcher worker (dispatcher.c): its definition and
 * entry point.
 */
#ifndef NMC_DISPATCHER_H
#define NMC_DISPATCHER_H

#include "postgres.h"

/* From _PG_init (worker_define). */
extern void dispatcher_install(void);
extern PGDLLEXPORT void nmc_dispatcher_main(Datum arg) pg_attribute_noreturn();

#endif
