/* Formats and writes access-log lines in the edge's JSON-lines format
 * (event_log.h):
 * {"time":...,"type":"access","method":"GET","path":"/api/me","status":200,
 *  "duration_ms":1.234,"bytes":512,"client":"203.0.113.9"} */
#include "access_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "event_log.h"
#include "json_text.h"

#define MAX_LOGGED_PATH 1024

/* Paths are already URL-decoded by MHD; re-encode control characters,
 * spaces, '%' and bytes >= 0x80 so the logged path reads as it was sent and
 * a long one cannot fill the log. */
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

void access_log_write(const struct request_state *rs, double duration_ms)
{
	char safe_path[SAFE_PATH_SIZE];
	char numbers[128];
	struct string_buffer sb;

	sanitize_path(rs->path, safe_path);
	/* A HEAD answer carries the headers of its GET, never the body. */
	uint64_t bytes = strcmp(rs->method, "HEAD") == 0 ? 0 : rs->body_bytes;
	snprintf(numbers, sizeof numbers, ",\"status\":%u,\"duration_ms\":%.3f,\"bytes\":%" PRIu64 ",\"client\":",
		 rs->status, duration_ms, bytes);

	event_log_begin(&sb, &rs->started_wall, "access");
	string_buffer_append_str(&sb, ",\"method\":");
	json_escape_append(&sb, rs->method[0] ? rs->method : "-");
	string_buffer_append_str(&sb, ",\"path\":");
	json_escape_append(&sb, safe_path);
	string_buffer_append_str(&sb, numbers);
	json_escape_append(&sb, rs->client[0] ? rs->client : "-");
	event_log_end(&sb, stdout);
}
