/*
 * dispatcher.h — registration and entry point of the dispatcher worker.
 */
#ifndef NMC_DISPATCHER_H
#define NMC_DISPATCHER_H

#include "postgres.h"

extern char *nmc_dispatcher_database;

extern void dispatcher_register_worker(void);
extern PGDLLEXPORT void nmc_dispatcher_main(Datum arg) pg_attribute_noreturn();

#endif
