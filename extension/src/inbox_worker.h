/*
 * inbox_worker.h — the inbox background worker (inbox_worker.c): applies the
 * Twilio webhooks accepted into nmc.webhook_inbox.
 */
#ifndef NMC_INBOX_WORKER_H
#define NMC_INBOX_WORKER_H

#include "postgres.h"

/* From _PG_init (worker_define). */
extern void inbox_install(void);
extern PGDLLEXPORT void nmc_inbox_main(Datum arg) pg_attribute_noreturn();

#endif
