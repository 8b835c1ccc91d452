/*
 * spi_row.c — columns of an SPI result row by name (spi_row.h), for the
 * workers' reading of their SQL functions' answers.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "spi_row.h"

Datum
spi_datum(HeapTuple row, TupleDesc desc, const char *column, bool *isnull)
{
	int			n = SPI_fnumber(desc, column);

	if (n <= 0)
		elog(ERROR, "nevermisscall: the result has no column \"%s\"", column);
	return SPI_getbinval(row, desc, n, isnull);
}

int64
spi_int_or(HeapTuple row, TupleDesc desc, const char *column, int64 if_null)
{
	bool		isnull;
	Datum		d = spi_datum(row, desc, column, &isnull);

	if (isnull)
		return if_null;
	switch (SPI_gettypeid(desc, SPI_fnumber(desc, column)))
	{
		case INT8OID:
			return DatumGetInt64(d);
		case INT4OID:
			return DatumGetInt32(d);
		default:
			elog(ERROR, "nevermisscall: column \"%s\" is not an integer", column);
	}
}

int64
spi_int(HeapTuple row, TupleDesc desc, const char *column)
{
	bool		isnull;

	(void) spi_datum(row, desc, column, &isnull);
	if (isnull)
		elog(ERROR, "nevermisscall: column \"%s\" is NULL", column);
	return spi_int_or(row, desc, column, 0);
}

char *
spi_text(HeapTuple row, TupleDesc desc, const char *column)
{
	bool		isnull;
	Datum		d = spi_datum(row, desc, column, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}
