/*
 * spi_statement.h — the workers' fixed SQL statements ("SELECT nmc.…($1)"),
 * each prepared once per process and kept, instead of parsed and planned
 * again at every round.
 */
#ifndef NMC_SPI_STATEMENT_H
#define NMC_SPI_STATEMENT_H

#include "postgres.h"

#include "executor/spi.h"

#define SPI_STATEMENT_MAX_ARGS 8

typedef struct SpiStatement
{
	const char *sql;
	int			nargs;
	Oid			argtypes[SPI_STATEMENT_MAX_ARGS];
	SPIPlanPtr	plan;			/* prepared at the first run, then kept */
} SpiStatement;

#define SPI_STATEMENT(sql_, nargs_, ...) {(sql_), (nargs_), {__VA_ARGS__}, NULL}

/* SPI_execute_plan of the statement (no NULL argument), preparing it the first time. */
extern int	spi_statement_run(SpiStatement *s, Datum *args, bool read_only, long count);

#endif
