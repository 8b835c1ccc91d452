/* Everything the admin API can see or change: the request log, pending
 * faults, scripted OpenAI messages and geocode entries. One mutex guards it
 * all; every operation is short so connection threads never queue long. */
#ifndef FAKE_STATE_H
#define FAKE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fake_http.h"
#include "json_out.h"

#define FAKE_MAX_RECORDS 200000
#define FAKE_MAX_RECORDED_BODY (64 * 1024)

int fake_state_init(void);
void fake_state_destroy(void);
/* Wakes every fake_sleep_ms so shutdown does not wait out injected delays. */
void fake_state_shutdown(void);
/* Sleeps ms milliseconds, or less if shutdown begins. */
void fake_sleep_ms(unsigned ms);

/* Clears records, faults, scripted responses and geocode entries. Sequence
 * numbers keep counting so a ?since= taken before a reset stays valid. */
void fake_state_reset(void);

/* Request log. Oldest records are dropped beyond FAKE_MAX_RECORDS. */
void fake_record(const struct fake_request *rq, unsigned status);
/* Appends a JSON array of records with seq > since whose path contains
 * path_filter (NULL: all). */
void fake_records_json(struct jbuf *out, uint64_t since, const char *path_filter);
size_t fake_records_count(uint64_t since, const char *path_filter);

/* Faults. */
struct fault_action {
	unsigned status;     /* 0: answer normally */
	char *body;          /* NULL: provider default error body */
	long retry_after;    /* -1: no Retry-After header */
	unsigned delay_ms;
	bool drop;
};

/* count 0 means "until reset". Returns the number of pending faults. */
size_t fake_fault_add(const char *match, unsigned status, const char *body,
		      long retry_after, unsigned delay_ms, bool drop, unsigned count);
/* Consumes one use of the oldest fault matching path; false if none. The
 * caller frees out->body. */
bool fake_fault_take(const char *path, struct fault_action *out);
void fake_faults_json(struct jbuf *out);
/* Removes every pending fault (the request log stays). */
void fake_faults_clear(void);

/* Scripted OpenAI messages (raw JSON objects), first in first out. */
size_t fake_openai_push(const char *json, size_t len);
/* Oldest scripted message (caller frees) or NULL when none is queued. */
char *fake_openai_pop(void);

/* Scripted geocode entries. */
struct geo_entry {
	char *address;           /* as given; matched case-insensitively */
	char *formatted_address;
	double lat, lng;
	char *postal_code;       /* may be NULL */
	char location_type[24];
	bool partial_match;
};

size_t fake_geo_add(const struct geo_entry *e);
/* Calls fn for each entry whose address matches (address != NULL) or whose
 * postal code equals postal (address == NULL), under the state lock. */
size_t fake_geo_each(const char *address, const char *postal,
		     void (*fn)(const struct geo_entry *, void *), void *ctx);

#endif
