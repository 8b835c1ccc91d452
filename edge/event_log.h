/* The edge's logs as JSON lines (event_log.c): one object per line with
 * "time" and "type"; its own messages here, requests in access_log.c. No
 * message may carry a secret: callers log addresses, states and causes, never
 * tokens, bodies or query strings. */
#ifndef NMC_EVENT_LOG_H
#define NMC_EVENT_LOG_H

#include <stdio.h>
#include <time.h>

#include "string_buffer.h"

/* Starts a line: {"time":"2026-01-31T12:00:00.123Z","type":"<type>" */
void event_log_begin(struct string_buffer *sb, const struct timespec *when, const char *type);

/* Closes the object, writes the line to `to` with one stdio call (lines from
 * different threads never interleave) and frees the buffer. */
void event_log_end(struct string_buffer *sb, FILE *to);

/* {"type":"error","message":...} on stderr: something an operator must look at. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* {"type":"info","message":...} on stdout: start, stop, recovery. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
