/*
 * spi_row.h — reading a column of an SPI result row by its name
 * (SPI_fnumber), so the workers do not depend on the order of a SQL
 * function's columns. A missing column is an error, as is a NULL where
 * the caller asks for a value.
 */
#ifndef NMC_SPI_ROW_H
#define NMC_SPI_ROW_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"

extern Datum spi_datum(HeapTuple row, TupleDesc desc, const char *column, bool *isnull);
/* int4 or int8; NULL is an error. */
extern int64 spi_int(HeapTuple row, TupleDesc desc, const char *column);
/* int4 or int8, or if_null. */
extern int64 spi_int_or(HeapTuple row, TupleDesc desc, const char *column, int64 if_null);
/* text in the current memory context, or NULL. */
extern char *spi_text(HeapTuple row, TupleDesc desc, const char *column);

#endif
