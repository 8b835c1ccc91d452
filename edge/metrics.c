/* Figures behind GET /metrics. Requests are keyed by method and a route
 * label (ids in the path folded to {id}, dashboard files to "static") so the
 * number of series stays small; everything is guarded by one mutex, which
 * costs nothing next to a request's database round trip. Other modules'
 * figures are read through the functions they registered. */
#include "metrics.h"

#include <ctype.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define MAX_SERIES 512
#define ROUTE_LEN 96
/* Milliseconds: an API call is ~1 ms, a missed-call webhook ~6 ms, 5 s is the promise. */
static const double buckets_ms[] = {1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 5000};
#define NBUCKETS (sizeof buckets_ms / sizeof buckets_ms[0])

struct request_series {
	char method[8];
	char route[ROUTE_LEN];
	unsigned int status;
	unsigned long long count;
};

struct latency_series {
	char method[8];
	char route[ROUTE_LEN];
	unsigned long long bucket[NBUCKETS];
	unsigned long long count;
	double sum_ms;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct request_series requests[MAX_SERIES];
static size_t nrequests;
static struct latency_series latencies[MAX_SERIES];
static size_t nlatencies;
static unsigned long long notify_bucket[NBUCKETS];
#define MAX_FIGURES 16
struct figure {
	const char *name, *type, *help;
	uint64_t (*read)(void);
};
static struct figure figures[MAX_FIGURES];
static size_t nfigures;
static unsigned long long notify_count;
static double notify_sum_ms;

static bool is_id_segment(const char *s, size_t n)
{
	size_t digits = 0, hex = 0;
	for (size_t i = 0; i < n; i++) {
		if (isdigit((unsigned char)s[i]))
			digits++;
		if (isxdigit((unsigned char)s[i]) || s[i] == '-')
			hex++;
	}
	return (n > 0 && digits == n) || (n == 36 && hex == n);
}

static void route_label(const char *path, char *out, size_t cap)
{
	if (strncmp(path, "/api", 4) != 0 && strncmp(path, "/webhooks/", 10) != 0 &&
	    strcmp(path, "/healthz") != 0 && strcmp(path, "/metrics") != 0) {
		snprintf(out, cap, "static");
		return;
	}
	size_t o = 0;
	const char *p = path;
	while (*p != '\0' && o + 5 < cap) {
		const char *seg = p + 1;
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);
		out[o++] = '/';
		if (is_id_segment(seg, n)) {
			memcpy(out + o, "{id}", 4);
			o += 4;
		} else {
			for (size_t i = 0; i < n && o + 1 < cap; i++)
				out[o++] = (isalnum((unsigned char)seg[i]) || strchr("-_.", seg[i])) ? seg[i] : '_';
		}
		p = seg + n;
		if (*p != '/')
			break;
	}
	out[o] = '\0';
}

static void observe(unsigned long long *bucket, unsigned long long *count, double *sum, double ms)
{
	for (size_t i = 0; i < NBUCKETS; i++)
		if (ms <= buckets_ms[i])
			bucket[i]++;
	(*count)++;
	*sum += ms;
}

void metrics_observe_request(const char *method, const char *path, unsigned int status, double ms)
{
	char route[ROUTE_LEN];
	route_label(path, route, sizeof route);
	pthread_mutex_lock(&lock);
	size_t i;
	for (i = 0; i < nrequests; i++)
		if (requests[i].status == status && strcmp(requests[i].route, route) == 0 &&
		    strcmp(requests[i].method, method) == 0)
			break;
	if (i == nrequests && nrequests < MAX_SERIES) {
		snprintf(requests[i].method, sizeof requests[i].method, "%s", method);
		snprintf(requests[i].route, sizeof requests[i].route, "%s", route);
		requests[i].status = status;
		nrequests++;
	}
	if (i < nrequests)
		requests[i].count++;
	for (i = 0; i < nlatencies; i++)
		if (strcmp(latencies[i].route, route) == 0 && strcmp(latencies[i].method, method) == 0)
			break;
	if (i == nlatencies && nlatencies < MAX_SERIES) {
		snprintf(latencies[i].method, sizeof latencies[i].method, "%s", method);
		snprintf(latencies[i].route, sizeof latencies[i].route, "%s", route);
		nlatencies++;
	}
	if (i < nlatencies)
		observe(latencies[i].bucket, &latencies[i].count, &latencies[i].sum_ms, ms);
	pthread_mutex_unlock(&lock);
}

void metrics_observe_notify_to_send(double ms)
{
	pthread_mutex_lock(&lock);
	observe(notify_bucket, &notify_count, &notify_sum_ms, ms);
	pthread_mutex_unlock(&lock);
}

static void appendf(struct string_buffer *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void appendf(struct string_buffer *sb, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n > 0)
		string_buffer_append(sb, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void render_histogram(struct string_buffer *sb, const char *name, const char *labels,
			     const unsigned long long *bucket, unsigned long long count, double sum_ms)
{
	const char *sep = labels[0] ? "," : "";
	for (size_t i = 0; i < NBUCKETS; i++)
		appendf(sb, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, buckets_ms[i] / 1000.0, bucket[i]);
	appendf(sb, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, count);
	appendf(sb, "%s_sum{%s} %.6f\n", name, labels, sum_ms / 1000.0);
	appendf(sb, "%s_count{%s} %llu\n", name, labels, count);
}

void metrics_add_figure(const char *name, const char *type, const char *help, uint64_t (*read)(void))
{
	if (nfigures < MAX_FIGURES)
		figures[nfigures++] = (struct figure){name, type, help, read};
}

void metrics_render(struct string_buffer *sb)
{
	char labels[256];
	pthread_mutex_lock(&lock);
	appendf(sb, "# HELP nmc_http_requests_total HTTP requests answered by the edge.\n# TYPE nmc_http_requests_total counter\n");
	for (size_t i = 0; i < nrequests; i++)
		appendf(sb, "nmc_http_requests_total{method=\"%s\",route=\"%s\",status=\"%u\"} %llu\n",
			requests[i].method, requests[i].route, requests[i].status, requests[i].count);
	appendf(sb, "# HELP nmc_http_request_duration_seconds Time from request line to response.\n# TYPE nmc_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i < nlatencies; i++) {
		snprintf(labels, sizeof labels, "method=\"%.7s\",route=\"%.95s\"", latencies[i].method, latencies[i].route);
		render_histogram(sb, "nmc_http_request_duration_seconds", labels, latencies[i].bucket,
				 latencies[i].count, latencies[i].sum_ms);
	}
	appendf(sb, "# HELP nmc_feed_notify_to_send_seconds From a NOTIFY reaching the edge to its event frame written to a client.\n# TYPE nmc_feed_notify_to_send_seconds histogram\n");
	render_histogram(sb, "nmc_feed_notify_to_send_seconds", "", notify_bucket, notify_count, notify_sum_ms);
	pthread_mutex_unlock(&lock);
	for (size_t i = 0; i < nfigures; i++)
		appendf(sb, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", figures[i].name, figures[i].help,
			figures[i].name, figures[i].type, figures[i].name, (unsigned long long)figures[i].read());
}
