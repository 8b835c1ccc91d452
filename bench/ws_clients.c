/*
 * ws_clients.c — the live feed's load: N WebSocket clients (libwebsockets)
 * that log in to the edge's /ws with tokens from a file, then measure, for
 * every message.created event frame, the time from the event's commit
 * (its created_at) to the frame's arrival. Driven by bench/feed.pl.
 */
#define _GNU_SOURCE
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define MAX_TOKENS 1000
#define MAX_SAMPLES 2000000
#define CONNECT_BATCH 100

struct client {
	int index;
	int hello_sent;
	int ready;
};

static char *tokens[MAX_TOKENS];
static int ntokens;
static int nclients;
static int started, connected, ready, errors, closed;
static double *samples;
static long nsamples;
static long frames;
static volatile sig_atomic_t stop;
static int printed_ready;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "2026-11-25T11:07:24.748573+00:00" (jsonb's timestamptz, UTC) → epoch seconds. */
static int parse_created_at(const char *s, double *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (rest == NULL)
		return -1;
	double frac = 0;
	if (*rest == '.') {
		double scale = 0.1;
		for (rest++; *rest >= '0' && *rest <= '9'; rest++, scale /= 10)
			frac += (*rest - '0') * scale;
	}
	int sign = 1, hh = 0, mm = 0;
	if (*rest == '+' || *rest == '-') {
		sign = *rest == '-' ? -1 : 1;
		sscanf(rest + 1, "%2d:%2d", &hh, &mm);
	}
	*out = (double)timegm(&tm) + frac - sign * (hh * 3600 + mm * 60);
	return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct client *c = user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		connected++;
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (!c->hello_sent) {
			unsigned char buf[LWS_PRE + 2048];
			int n = snprintf((char *)buf + LWS_PRE, 2048, "{\"token\":\"%s\",\"last_event_id\":null}",
					 tokens[c->index % ntokens]);
			c->hello_sent = 1;
			if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
				return -1;
		}
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE: {
		char frame[4096];
		size_t n = len < sizeof frame - 1 ? len : sizeof frame - 1;
		memcpy(frame, in, n);
		frame[n] = '\0';
		if (!c->ready) {
			if (strstr(frame, "\"hello\"") != NULL) {
				c->ready = 1;
				ready++;
			} else {
				errors++;
				fprintf(stderr, "client %d: %s\n", c->index, frame);
			}
			break;
		}
		frames++;
		if (strstr(frame, "\"message.created\"") != NULL) {
			const char *p = strstr(frame, "\"created_at\"");
			double t;
			if (p != NULL && (p = strchr(p + 12, '"')) != NULL && parse_created_at(p + 1, &t) == 0 &&
			    nsamples < MAX_SAMPLES)
				samples[nsamples++] = (now_s() - t) * 1000.0;
		}
		break;
	}
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		errors++;
		fprintf(stderr, "client %d: connection error: %s\n", c ? c->index : -1, in ? (char *)in : "");
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		closed++;
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "nmc-feed", callback, sizeof(struct client), 4096, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s HOST PORT CLIENTS TOKENS_FILE\n", argv[0]);
		return 2;
	}
	const char *host = argv[1];
	int port = atoi(argv[2]);
	nclients = atoi(argv[3]);
	FILE *f = fopen(argv[4], "r");
	char line[2048];
	while (f && ntokens < MAX_TOKENS && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0])
			tokens[ntokens++] = strdup(line);
	}
	if (f)
		fclose(f);
	if (ntokens == 0) {
		fprintf(stderr, "no tokens in %s\n", argv[4]);
		return 2;
	}
	/* 5,000 sockets need more than the default 1,024 descriptors. */
	struct rlimit rl = { 65536, 65536 };
	setrlimit(RLIMIT_NOFILE, &rl);
	samples = malloc(sizeof(double) * MAX_SAMPLES);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	lws_set_log_level(LLL_ERR, NULL);

	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.fd_limit_per_thread = (unsigned int)nclients + 64;
	struct lws_context *ctx = lws_create_context(&info);
	if (ctx == NULL)
		return 1;

	struct client *cs = calloc((size_t)nclients, sizeof *cs);
	while (!stop) {
		for (int k = 0; k < CONNECT_BATCH && started < nclients && started - (ready + errors) < 500; k++) {
			struct lws_client_connect_info ci;
			memset(&ci, 0, sizeof ci);
			cs[started].index = started;
			ci.context = ctx;
			ci.address = host;
			ci.port = port;
			ci.path = "/ws";
			ci.host = host;
			ci.origin = host;
			ci.protocol = NULL;
			ci.userdata = &cs[started];
			ci.ietf_version_or_minus_one = -1;
			if (lws_client_connect_via_info(&ci) == NULL)
				errors++;
			started++;
		}
		lws_service(ctx, 50);
		if (!printed_ready && ready + errors >= nclients) {
			printf("READY %d %d\n", ready, errors);
			fflush(stdout);
			printed_ready = 1;
		}
	}
	qsort(samples, (size_t)nsamples, sizeof(double), cmp);
	printf("RESULT clients=%d ready=%d errors=%d closed=%d frames=%ld samples=%ld p50=%.2f p99=%.2f max=%.2f\n",
	       nclients, ready, errors, closed, frames, nsamples,
	       nsamples ? samples[nsamples / 2] : 0, nsamples ? samples[(long)((nsamples - 1) * 0.99)] : 0,
	       nsamples ? samples[nsamples - 1] : 0);
	lws_context_destroy(ctx);
	for (int i = 0; i < ntokens; i++)
		free(tokens[i]);
	free(cs);
	free(samples);
	return 0;
}
