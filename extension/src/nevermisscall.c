/*
 * nevermisscall.c — module entry point of the nevermisscall extension.
 * Owns _PG_init: declares the nmc.* settings (the per-transaction tenancy
 * settings that row-level security reads, and the dispatcher's database),
 * and, when preloaded, sets up the shared memory and workers of the
 * dispatcher, the inbox and the events.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "dispatcher.h"
#include "event_worker.h"
#include "inbox_worker.h"
#include "worker_slot.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* Set per transaction by the API (set_config(..., true)); '' when unset. */
static char *nmc_business_id = NULL;
static char *nmc_user_id = NULL;

void
_PG_init(void)
{
	DefineCustomStringVariable("nmc.business_id",
							   "Business the current API transaction acts for.",
							   "Set per transaction by nmc_api functions after verifying a JWT; "
							   "row-level security policies compare tenant rows to it.",
							   &nmc_business_id,
							   "",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("nmc.user_id",
							   "User the current API transaction acts for.",
							   NULL,
							   &nmc_user_id,
							   "",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("nmc.database",
							   "Database the nevermisscall background workers work in.",
							   "The database where CREATE EXTENSION nevermisscall was run.",
							   &worker_database,
							   "nevermisscall",
							   PGC_POSTMASTER,
							   0,
							   NULL, NULL, NULL);

	MarkGUCPrefixReserved("nmc");

	dispatcher_install();
	inbox_install();
	event_worker_install();
}
