/* JSON-lines log format shared by every line the edge writes (event_log.h):
 * the timestamp, the escaping (json_text.c) and the single write per
 * line; and the error and info messages themselves. */
#include "event_log.h"

#include <stdarg.h>
#include <string.h>

#include "json_text.h"

/* Long enough for any message the edge composes (libpq's included). */
#define MAX_MESSAGE 2048

void event_log_begin(struct string_buffer *sb, const struct timespec *when, const char *type)
{
	struct tm tm;
	char stamp[64];
	gmtime_r(&when->tv_sec, &tm);
	size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + n, sizeof stamp - n, ".%03ldZ", when->tv_nsec / 1000000L);
	string_buffer_init(sb);
	string_buffer_append_str(sb, "{\"time\":\"");
	string_buffer_append_str(sb, stamp);
	string_buffer_append_str(sb, "\",\"type\":");
	json_escape_append(sb, type);
}

void event_log_end(struct string_buffer *sb, FILE *to)
{
	string_buffer_append_str(sb, "}\n");
	if (sb->failed)
		fputs("{\"type\":\"error\",\"message\":\"out of memory writing a log line\"}\n", stderr);
	else
		fputs(sb->data, to);
	string_buffer_free(sb);
}

static void log_message(FILE *to, const char *type, const char *fmt, va_list ap)
{
	char message[MAX_MESSAGE];
	struct timespec now;
	struct string_buffer sb;

	clock_gettime(CLOCK_REALTIME, &now);
	vsnprintf(message, sizeof message, fmt, ap);
	/* libpq's messages end in a newline; the line is the record. */
	size_t len = strlen(message);
	while (len > 0 && (message[len - 1] == '\n' || message[len - 1] == ' '))
		message[--len] = '\0';
	event_log_begin(&sb, &now, type);
	string_buffer_append_str(&sb, ",\"message\":");
	json_escape_append(&sb, message);
	event_log_end(&sb, to);
}

void log_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_message(stderr, "error", fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_message(stdout, "info", fmt, ap);
	va_end(ap);
}
