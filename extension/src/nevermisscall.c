/*
 * nevermisscall.c — module entry point of the nevermisscall extension.
 * Owns _PG_init: declares the per-transaction tenancy settings (nmc.*) that
 * row-level security policies read, and reserves the nmc prefix.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

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

	MarkGUCPrefixReserved("nmc");
}
