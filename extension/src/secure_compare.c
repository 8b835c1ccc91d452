/*
 * secure_compare.c — nmc.secure_compare: constant-time equality for secrets
 * such as webhook signatures, so response timing reveals nothing.
 */
#include "postgres.h"

#include <openssl/crypto.h>

#include "fmgr.h"

PG_FUNCTION_INFO_V1(nmc_secure_compare);

Datum
nmc_secure_compare(PG_FUNCTION_ARGS)
{
	text	   *a = PG_GETARG_TEXT_PP(0);
	text	   *b = PG_GETARG_TEXT_PP(1);
	int			alen = VARSIZE_ANY_EXHDR(a);
	int			blen = VARSIZE_ANY_EXHDR(b);

	if (alen != blen)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(CRYPTO_memcmp(VARDATA_ANY(a), VARDATA_ANY(b), alen) == 0);
}
