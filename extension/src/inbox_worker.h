/*
 * inbox_worker.h — the inbox background worker (inbox_worker.c): applies the
 * Twilio webhooks accepted into nmc.webhook_inbox.
 */
#ifndef NMC_INBOX_WORKER_H
#define NMC_INBOX_WORKER_H

#include "postgres.h"

/* Wake-at-commit always; shared memory and the worker when preloading. */
extern void inbox_install(bool preloading);
extern PGDLLEXPORT void nmc_inbox_main(Datum arg) pg_attribute_noreturn();

#endif
