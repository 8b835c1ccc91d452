/* Formats and writes access-log lines. Each line is assembled in a local
 * buffer and written with a single stdio call so lines from different
 * threads never interleave. */
#include "access_log.h"

#include <stdio.h>
#include <string.h>

#define MAX_LOGGED_PATH 1024

/* Paths are already URL-decoded by MHD; re-encode the bytes that would
 * break the space-separated line format, let a client forge log lines, or
 * make the log file non-text (bytes >= 0x80 may be invalid UTF-8). */
#define SAFE_PATH_SIZE (MAX_LOGGED_PATH + 3 /* last escape */ + 3 /* "..." */ + 1)

static void sanitize_path(const char *path, char out[SAFE_PATH_SIZE])
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)(path ? path : "-");
	for (; *p != '\0'; p++) {
		if (o >= MAX_LOGGED_PATH) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (*p <= 0x20 || *p >= 0x7F || *p == '%') {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 0xF];
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o] = '\0';
}

void access_log_write(const struct timespec *started_wall, const char *method,
		      const char *path, unsigned int status, double duration_ms)
{
	struct tm tm;
	char when[32];
	char safe_path[SAFE_PATH_SIZE];
	char line[sizeof safe_path + 128];

	gmtime_r(&started_wall->tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	sanitize_path(path, safe_path);

	snprintf(line, sizeof line, "%s.%03ldZ %s %s %u %.3fms\n", when,
		 started_wall->tv_nsec / 1000000L,
		 (method && method[0]) ? method : "-", safe_path, status,
		 duration_ms);
	fputs(line, stdout);
}
