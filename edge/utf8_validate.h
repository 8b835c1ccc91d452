/* UTF-8 validation as PostgreSQL understands it: no NUL bytes, no overlong
 * forms, no surrogates, nothing above U+10FFFF. Anything we pass to the
 * database as text must satisfy this or the query fails. */
#ifndef NMC_UTF8_VALIDATE_H
#define NMC_UTF8_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1-4) of the well-formed, non-NUL sequence starting at s, or 0. */
size_t utf8_sequence_length(const unsigned char *s, size_t n);

/* True when all n bytes are well-formed UTF-8 without NUL bytes. */
bool utf8_is_valid_text(const char *s, size_t n);

#endif
