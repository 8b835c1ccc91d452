/*
 * spi_statement.c — the workers' fixed SQL statements, prepared once per
 * process and kept (SPI_keepplan): a worker's round no longer parses and
 * plans "SELECT nmc.dispatcher_claim($1)" and the like every time (0.02–0.03
 * ms each, several per text). The plan cache re-plans a kept statement when
 * what it names changes (an extension update) and after the workers' periodic
 * ResetPlanCache (worker_slot.c).
 */
#include "postgres.h"

#include "spi_statement.h"

int
spi_statement_run(SpiStatement *s, Datum *args, bool read_only, long count)
{
	if (s->plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(s->sql, s->nargs, s->argtypes);

		if (plan == NULL)
			elog(ERROR, "nevermisscall: could not prepare \"%s\": %s", s->sql, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "nevermisscall: could not keep the plan of \"%s\"", s->sql);
		s->plan = plan;
	}
	return SPI_execute_plan(s->plan, args, NULL, read_only, count);
}
