/*
 * form_decode_core.h — application/x-www-form-urlencoded parsing without
 * PostgreSQL: form_decode.c (nmc.form_decode) and fuzz/fuzz_form_decode.c
 * both use it, so the rule lives here once.
 */
#ifndef NMC_FORM_DECODE_CORE_H
#define NMC_FORM_DECODE_CORE_H

#include <stdbool.h>
#include <stddef.h>

/* One name=value field as sent, still encoded; a field without '=' has an
 * empty value. */
struct form_field
{
	const char *name;
	size_t		name_len;
	const char *value;
	size_t		value_len;
};

enum form_decode_status
{
	FORM_DECODE_OK,
	FORM_DECODE_BAD_ESCAPE,		/* '%' not followed by two hex digits */
	FORM_DECODE_NUL				/* decodes to a NUL byte, which text cannot hold */
};

/* The next non-empty field of body[0..len) from *pos on ('&' separates
 * fields; empty ones are skipped); false when there is none. */
extern bool form_next_field(const char *body, size_t len, size_t *pos,
							struct form_field *field);

/* Decodes one name or value ('+' is a space, %XX a byte) into out, which
 * must hold len bytes; *out_len receives the decoded size. Checking the
 * result's character encoding is left to the caller. */
extern enum form_decode_status form_decode_part(const char *s, size_t len,
												char *out, size_t *out_len);

#endif
