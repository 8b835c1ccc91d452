/* In-memory state behind one mutex. The request path only appends a
 * record and scans the (usually empty) fault list, so the lock is held for
 * microseconds; dumping the log holds it longer, which only admin calls do. */
#include "fake_state.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct record {
	uint64_t seq;
	int64_t received_at_us;
	unsigned status;
	bool body_truncated;
	size_t body_len;
	/* Pointers into the same allocation, so a record is one malloc/free. */
	char *method, *path, *query, *authorization, *content_type, *user_agent, *body;
};

struct fault {
	char *match;
	struct fault_action action;
	unsigned remaining; /* 0: unlimited */
	struct fault *next;
};

struct scripted {
	char *json;
	struct scripted *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake;
static bool stopping;

static struct record **ring;
static size_t ring_head, ring_count;
static uint64_t last_seq;

static struct fault *faults;
static struct scripted *openai_head, *openai_tail;
static size_t openai_len;

static struct geo_entry *geo;
static size_t geo_n, geo_cap;

int fake_state_init(void)
{
	pthread_condattr_t attr;

	ring = calloc(FAKE_MAX_RECORDS, sizeof(*ring));
	if (!ring)
		return -1;
	/* Monotonic so a wall-clock jump cannot stretch an injected delay. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&wake, &attr);
	pthread_condattr_destroy(&attr);
	return 0;
}

static void clear_faults_locked(void)
{
	while (faults) {
		struct fault *f = faults;

		faults = f->next;
		free(f->match);
		free(f->action.body);
		free(f);
	}
}

void fake_faults_clear(void)
{
	pthread_mutex_lock(&lock);
	clear_faults_locked();
	pthread_mutex_unlock(&lock);
}

static void clear_locked(void)
{
	for (size_t i = 0; i < ring_count; i++) {
		free(ring[(ring_head + i) % FAKE_MAX_RECORDS]);
		ring[(ring_head + i) % FAKE_MAX_RECORDS] = NULL;
	}
	ring_head = ring_count = 0;
	clear_faults_locked();
	while (openai_head) {
		struct scripted *s = openai_head;

		openai_head = s->next;
		free(s->json);
		free(s);
	}
	openai_tail = NULL;
	openai_len = 0;
	for (size_t i = 0; i < geo_n; i++) {
		free(geo[i].address);
		free(geo[i].formatted_address);
		free(geo[i].postal_code);
	}
	geo_n = 0;
}

void fake_state_reset(void)
{
	pthread_mutex_lock(&lock);
	clear_locked();
	pthread_mutex_unlock(&lock);
}

void fake_state_destroy(void)
{
	pthread_mutex_lock(&lock);
	clear_locked();
	free(ring);
	ring = NULL;
	free(geo);
	geo = NULL;
	geo_cap = 0;
	pthread_mutex_unlock(&lock);
	pthread_cond_destroy(&wake);
}

void fake_state_shutdown(void)
{
	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_cond_broadcast(&wake);
	pthread_mutex_unlock(&lock);
}

void fake_sleep_ms(unsigned ms)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&lock);
	while (!stopping && pthread_cond_timedwait(&wake, &lock, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&lock);
}

/* ---- request log ---- */

static size_t slen(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static char *put(char **cursor, const char *s, size_t n)
{
	char *dst;

	if (!s)
		return NULL;
	dst = *cursor;
	memcpy(dst, s, n);
	dst[n] = '\0';
	*cursor += n + 1;
	return dst;
}

void fake_record(const struct fake_request *rq, unsigned status)
{
	size_t body_len = rq->body_len > FAKE_MAX_RECORDED_BODY
			  ? FAKE_MAX_RECORDED_BODY : rq->body_len;
	size_t size = sizeof(struct record) + slen(rq->method) + slen(rq->path) +
		      slen(rq->query) + slen(rq->authorization) +
		      slen(rq->content_type) + slen(rq->user_agent) + body_len + 1;
	struct record *r = malloc(size);
	char *cur;

	if (!r)
		return;
	cur = (char *)(r + 1);
	r->received_at_us = rq->received_at_us;
	r->status = status;
	r->body_truncated = body_len < rq->body_len;
	r->body_len = body_len;
	r->method = put(&cur, rq->method, slen(rq->method) - 1);
	r->path = put(&cur, rq->path, slen(rq->path) - 1);
	r->query = put(&cur, rq->query, slen(rq->query) - 1);
	r->authorization = put(&cur, rq->authorization, slen(rq->authorization) - 1);
	r->content_type = put(&cur, rq->content_type, slen(rq->content_type) - 1);
	r->user_agent = put(&cur, rq->user_agent, slen(rq->user_agent) - 1);
	r->body = put(&cur, rq->body ? rq->body : "", body_len);

	pthread_mutex_lock(&lock);
	r->seq = ++last_seq;
	if (ring_count == FAKE_MAX_RECORDS) {
		free(ring[ring_head]);
		ring[ring_head] = NULL;
		ring_head = (ring_head + 1) % FAKE_MAX_RECORDS;
		ring_count--;
	}
	ring[(ring_head + ring_count) % FAKE_MAX_RECORDS] = r;
	ring_count++;
	pthread_mutex_unlock(&lock);
}

static bool record_wanted(const struct record *r, uint64_t since, const char *path_filter)
{
	return r->seq > since && (!path_filter || strstr(r->path, path_filter));
}

/* Records are in seq order, so the first one after `since` is found by
 * binary search: tests poll with ?since= while the log holds 200k entries. */
static size_t first_after(uint64_t since)
{
	size_t lo = 0, hi = ring_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ring[(ring_head + mid) % FAKE_MAX_RECORDS]->seq <= since)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void header_json(struct jbuf *out, bool *first, const char *name, const char *value)
{
	if (!value)
		return;
	if (!*first)
		jb_puts(out, ",");
	*first = false;
	jb_str(out, name);
	jb_puts(out, ":");
	jb_str(out, value);
}

void fake_records_json(struct jbuf *out, uint64_t since, const char *path_filter)
{
	bool first = true;

	jb_puts(out, "[");
	pthread_mutex_lock(&lock);
	for (size_t i = first_after(since); i < ring_count; i++) {
		const struct record *r = ring[(ring_head + i) % FAKE_MAX_RECORDS];
		bool hfirst = true;

		if (!record_wanted(r, since, path_filter))
			continue;
		jb_printf(out, "%s{\"seq\":%llu,\"received_at_us\":%lld,\"method\":",
			  first ? "" : ",", (unsigned long long)r->seq,
			  (long long)r->received_at_us);
		first = false;
		jb_str(out, r->method);
		jb_puts(out, ",\"path\":");
		jb_str(out, r->path);
		jb_puts(out, ",\"query\":");
		jb_str(out, r->query);
		jb_puts(out, ",\"headers\":{");
		header_json(out, &hfirst, "Authorization", r->authorization);
		header_json(out, &hfirst, "Content-Type", r->content_type);
		header_json(out, &hfirst, "User-Agent", r->user_agent);
		jb_puts(out, "},\"body\":");
		jb_strn(out, r->body, r->body_len);
		jb_printf(out, ",\"body_truncated\":%s,\"status\":%u}",
			  r->body_truncated ? "true" : "false", r->status);
	}
	pthread_mutex_unlock(&lock);
	jb_puts(out, "]");
}

size_t fake_records_count(uint64_t since, const char *path_filter)
{
	size_t n = 0;

	pthread_mutex_lock(&lock);
	if (!path_filter) {
		n = ring_count - first_after(since);
	} else {
		for (size_t i = first_after(since); i < ring_count; i++)
			if (record_wanted(ring[(ring_head + i) % FAKE_MAX_RECORDS],
					  since, path_filter))
				n++;
	}
	pthread_mutex_unlock(&lock);
	return n;
}

/* ---- faults ---- */

size_t fake_fault_add(const char *match, unsigned status, const char *body,
		      long retry_after, unsigned delay_ms, bool drop, unsigned count)
{
	struct fault *f = calloc(1, sizeof(*f));
	size_t n = 0;

	if (!f)
		return 0;
	f->match = strdup(match);
	f->action.body = body ? strdup(body) : NULL;
	if (!f->match || (body && !f->action.body)) {
		free(f->match);
		free(f->action.body);
		free(f);
		return 0;
	}
	f->action.status = status;
	f->action.retry_after = retry_after;
	f->action.delay_ms = delay_ms;
	f->action.drop = drop;
	f->remaining = count;

	pthread_mutex_lock(&lock);
	struct fault **tail = &faults;

	while (*tail) {
		tail = &(*tail)->next;
		n++;
	}
	*tail = f;
	pthread_mutex_unlock(&lock);
	return n + 1;
}

bool fake_fault_take(const char *path, struct fault_action *out)
{
	bool found = false;

	pthread_mutex_lock(&lock);
	for (struct fault **pp = &faults; *pp; pp = &(*pp)->next) {
		struct fault *f = *pp;

		if (!strstr(path, f->match))
			continue;
		*out = f->action;
		out->body = f->action.body ? strdup(f->action.body) : NULL;
		found = true;
		if (f->remaining > 0 && --f->remaining == 0) {
			*pp = f->next;
			free(f->match);
			free(f->action.body);
			free(f);
		}
		break;
	}
	pthread_mutex_unlock(&lock);
	return found;
}

void fake_faults_json(struct jbuf *out)
{
	jb_puts(out, "[");
	pthread_mutex_lock(&lock);
	for (struct fault *f = faults; f; f = f->next) {
		jb_puts(out, f == faults ? "{\"match\":" : ",{\"match\":");
		jb_str(out, f->match);
		jb_printf(out, ",\"status\":%u,\"body\":", f->action.status);
		jb_str(out, f->action.body);
		if (f->action.retry_after >= 0)
			jb_printf(out, ",\"retry_after\":%ld", f->action.retry_after);
		else
			jb_puts(out, ",\"retry_after\":null");
		jb_printf(out, ",\"delay_ms\":%u,\"drop\":%s,\"remaining\":%u}",
			  f->action.delay_ms, f->action.drop ? "true" : "false",
			  f->remaining);
	}
	pthread_mutex_unlock(&lock);
	jb_puts(out, "]");
}

/* ---- scripted OpenAI messages ---- */

size_t fake_openai_push(const char *json, size_t len)
{
	struct scripted *s = malloc(sizeof(*s));
	size_t n;

	if (!s)
		return 0;
	s->json = strndup(json, len);
	s->next = NULL;
	if (!s->json) {
		free(s);
		return 0;
	}
	pthread_mutex_lock(&lock);
	if (openai_tail)
		openai_tail->next = s;
	else
		openai_head = s;
	openai_tail = s;
	n = ++openai_len;
	pthread_mutex_unlock(&lock);
	return n;
}

char *fake_openai_pop(void)
{
	struct scripted *s;
	char *json = NULL;

	pthread_mutex_lock(&lock);
	s = openai_head;
	if (s) {
		openai_head = s->next;
		if (!openai_head)
			openai_tail = NULL;
		openai_len--;
	}
	pthread_mutex_unlock(&lock);
	if (s) {
		json = s->json;
		free(s);
	}
	return json;
}

/* ---- scripted geocode entries ---- */

/* Case-insensitive comparison that also ignores runs of spaces, so
 * "12 Elm St" matches "12  elm st" as Google would. */
static bool address_equal(const char *a, const char *b)
{
	while (*a == ' ')
		a++;
	while (*b == ' ')
		b++;
	while (*a && *b) {
		if (*a == ' ' && *b == ' ') {
			while (*a == ' ')
				a++;
			while (*b == ' ')
				b++;
			continue;
		}
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
		a++;
		b++;
	}
	while (*a == ' ')
		a++;
	while (*b == ' ')
		b++;
	return *a == '\0' && *b == '\0';
}

size_t fake_geo_add(const struct geo_entry *e)
{
	struct geo_entry copy = *e;
	size_t n = 0;

	copy.address = strdup(e->address);
	copy.formatted_address = strdup(e->formatted_address);
	copy.postal_code = e->postal_code ? strdup(e->postal_code) : NULL;
	if (!copy.address || !copy.formatted_address ||
	    (e->postal_code && !copy.postal_code))
		goto fail;
	pthread_mutex_lock(&lock);
	if (geo_n == geo_cap) {
		size_t cap = geo_cap ? geo_cap * 2 : 16;
		struct geo_entry *g = realloc(geo, cap * sizeof(*g));

		if (!g) {
			pthread_mutex_unlock(&lock);
			goto fail;
		}
		geo = g;
		geo_cap = cap;
	}
	geo[geo_n++] = copy;
	n = geo_n;
	pthread_mutex_unlock(&lock);
	return n;
fail:
	free(copy.address);
	free(copy.formatted_address);
	free(copy.postal_code);
	return 0;
}

size_t fake_geo_each(const char *address, const char *postal,
		     void (*fn)(const struct geo_entry *, void *), void *ctx)
{
	size_t n = 0;

	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < geo_n; i++) {
		bool hit = address ? address_equal(geo[i].address, address)
				   : (postal && geo[i].postal_code &&
				      strcmp(geo[i].postal_code, postal) == 0);

		if (hit) {
			fn(&geo[i], ctx);
			n++;
		}
	}
	pthread_mutex_unlock(&lock);
	return n;
}
