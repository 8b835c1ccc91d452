/* Identifiers and timestamps in the providers' formats (Twilio SIDs,
 * chatcmpl ids, request ids, RFC 2822 dates). */
#ifndef FAKE_IDS_H
#define FAKE_IDS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Seeds the generator; call once before any thread starts. */
void fake_ids_init(void);
/* prefix (2 letters) + 32 lowercase hex, unique for the process lifetime;
 * out needs 35 bytes. */
void fake_sid(char *out, const char *prefix);
/* n random lowercase hex digits / [A-Za-z0-9] characters plus a NUL. */
void fake_hex(char *out, size_t n);
void fake_alnum(char *out, size_t n);
/* "Tue, 05 May 2026 14:02:11 +0000"; out needs 40 bytes. */
void fake_rfc2822(char *out, time_t t);
/* Wall clock in microseconds since the epoch. */
int64_t fake_now_us(void);
/* Stable 64-bit hash, for ids that must repeat for the same input. */
uint64_t fake_hash(const char *s);

#endif
