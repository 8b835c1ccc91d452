/* libmicrohttpd glue. One thread per connection, so an injected delay
 * sleeps only in the connection it applies to; the raw URI is captured in
 * the URI-log callback because the handler only gets the decoded path. */
#include "router.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_api.h"
#include "fake_ids.h"
#include "fake_state.h"
#include "maps_fake.h"
#include "openai_fake.h"
#include "push_fake.h"
#include "twilio_fake.h"
#include "twilio_media.h"

/* Larger bodies are answered 413: nothing the product sends comes close. */
#define MAX_BODY (4 * 1024 * 1024)

struct req_ctx {
	char *raw_uri;
	int64_t received_at_us;
	bool started;
	bool too_large;
	char *body;
	size_t body_len;
	size_t body_cap;
};

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct req_ctx *ctx = calloc(1, sizeof(*ctx));

	(void)cls;
	(void)c;
	if (!ctx)
		return NULL;
	ctx->received_at_us = fake_now_us();
	ctx->raw_uri = strdup(uri);
	return ctx;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req_ctx *ctx = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (!ctx)
		return;
	free(ctx->raw_uri);
	free(ctx->body);
	free(ctx);
	*con_cls = NULL;
}

static bool append_body(struct req_ctx *ctx, const char *data, size_t n)
{
	if (ctx->too_large || ctx->body_len + n > MAX_BODY) {
		ctx->too_large = true;
		return true;
	}
	if (ctx->body_len + n + 1 > ctx->body_cap) {
		size_t cap = ctx->body_cap ? ctx->body_cap : 1024;
		char *p;

		while (cap < ctx->body_len + n + 1)
			cap *= 2;
		p = realloc(ctx->body, cap);
		if (!p)
			return false;
		ctx->body = p;
		ctx->body_cap = cap;
	}
	memcpy(ctx->body + ctx->body_len, data, n);
	ctx->body_len += n;
	ctx->body[ctx->body_len] = '\0';
	return true;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

enum provider { P_NONE, P_ADMIN, P_TWILIO, P_STORAGE, P_OPENAI, P_MAPS, P_PUSH };

static enum provider provider_of(const char *path)
{
	if (strcmp(path, "/_fake") == 0 || starts_with(path, "/_fake/"))
		return P_ADMIN;
	if (starts_with(path, "/2010-04-01/"))
		return P_TWILIO;
	if (starts_with(path, "/twilio-storage/"))
		return P_STORAGE;
	if (starts_with(path, "/v1/"))
		return P_OPENAI;
	if (starts_with(path, "/maps/"))
		return P_MAPS;
	if (starts_with(path, "/push/"))
		return P_PUSH;
	return P_NONE;
}

static void no_fake(const struct fake_request *rq, struct fake_reply *rp)
{
	static const char body[] =
		"{\"error\":\"nmc-fake-providers has no fake for this path; Twilio paths start "
		"with /2010-04-01/, OpenAI with /v1/, Google Maps with /maps/, Web Push with "
		"/push/\"}";

	(void)rq;
	reply_set_body(rp, 404, "application/json", body, sizeof(body) - 1);
}

static void fault_reply(enum provider p, const struct fake_request *rq,
			const struct fault_action *fa, struct fake_reply *rp)
{
	if (fa->body) {
		reply_set_body(rp, fa->status,
			       p == P_MAPS ? "application/json; charset=UTF-8" : "application/json",
			       fa->body, strlen(fa->body));
		return;
	}
	switch (p) {
	case P_TWILIO:
		twilio_fault_reply(rq, fa->status, rp);
		break;
	case P_OPENAI:
		openai_fault_reply(rq, fa->status, rp);
		break;
	case P_MAPS:
		maps_fault_reply(rq, fa->status, rp);
		break;
	default: {
		char body[64];
		int n = snprintf(body, sizeof(body),
				 "{\"error\":\"injected fault\",\"status\":%u}", fa->status);

		reply_set_body(rp, fa->status, "application/json", body, (size_t)n);
	}
	}
}

static void provider_reply(enum provider p, const struct fake_request *rq,
			   struct fake_reply *rp)
{
	switch (p) {
	case P_TWILIO:
		twilio_handle(rq, rp);
		break;
	case P_OPENAI:
		openai_handle(rq, rp);
		break;
	case P_MAPS:
		maps_handle(rq, rp);
		break;
	case P_PUSH:
		push_handle(rq, rp);
		break;
	case P_STORAGE:
		twilio_storage_handle(rq, rp);
		break;
	default:
		no_fake(rq, rp);
		break;
	}
}

static const char *header_of(void *cls, const char *name)
{
	return MHD_lookup_connection_value(cls, MHD_HEADER_KIND, name);
}

static enum MHD_Result queue(struct MHD_Connection *c, struct fake_reply *rp)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	/* MUST_FREE hands our malloc'd body to libmicrohttpd: no copy on the
	 * hot path. */
	r = MHD_create_response_from_buffer(rp->body_len, rp->body ? rp->body : (void *)"",
					    rp->body ? MHD_RESPMEM_MUST_FREE
						     : MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	rp->body = NULL;
	if (rp->content_type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rp->content_type);
	for (size_t i = 0; i < rp->nheaders; i++)
		MHD_add_response_header(r, rp->headers[i].name, rp->headers[i].value);
	ret = MHD_queue_response(c, rp->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result dispatch(struct MHD_Connection *c, struct req_ctx *ctx,
				const char *url, const char *method)
{
	struct fake_request rq;
	struct fake_reply rp;
	struct fault_action fa = { 0, NULL, -1, 0, false };
	bool faulted = false;
	enum provider p = provider_of(url);
	const char *q = ctx->raw_uri ? strchr(ctx->raw_uri, '?') : NULL;
	enum MHD_Result ret;

	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.path = url;
	rq.query = q ? q + 1 : "";
	rq.body = ctx->body ? ctx->body : "";
	rq.body_len = ctx->body_len;
	rq.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_AUTHORIZATION);
	rq.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						      MHD_HTTP_HEADER_CONTENT_TYPE);
	rq.user_agent = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_USER_AGENT);
	rq.received_at_us = ctx->received_at_us;
	rq.header = header_of;
	rq.header_cls = c;
	form_init(&rq.args);
	reply_init(&rp);

	if (form_parse(&rq.args, rq.query, strlen(rq.query)) != 0) {
		reply_set_body(&rp, 500, "text/plain", "out of memory", 13);
	} else if (ctx->too_large) {
		static const char big[] = "{\"error\":\"request body over 4 MiB\"}";

		reply_set_body(&rp, 413, "application/json", big, sizeof(big) - 1);
	} else if (p == P_ADMIN) {
		admin_handle(&rq, &rp);
		form_free(&rq.args);
		return queue(c, &rp);
	} else {
		faulted = fake_fault_take(url, &fa);
		if (!faulted || (!fa.drop && !fa.body && fa.status < 400)) {
			provider_reply(p, &rq, &rp);
			/* A status below 400 without a body only overrides the
			 * status of the normal answer. */
			if (fa.status)
				rp.status = fa.status;
		} else if (!fa.drop) {
			if (!fa.status)
				fa.status = 200;
			fault_reply(p, &rq, &fa, &rp);
		}
		if (faulted && fa.retry_after >= 0)
			reply_add_header(&rp, "Retry-After", "%ld", fa.retry_after);
	}

	/* Recorded before any delay so tests can see a request that is still
	 * waiting for its answer. */
	fake_record(&rq, fa.drop ? 0 : rp.status);
	form_free(&rq.args);
	free(fa.body);
	if (fa.delay_ms)
		fake_sleep_ms(fa.delay_ms);
	if (fa.drop) {
		/* MHD_NO makes libmicrohttpd close the socket without answering:
		 * the client sees an empty reply. */
		reply_free(&rp);
		return MHD_NO;
	}
	ret = queue(c, &rp);
	reply_free(&rp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct req_ctx *ctx = *con_cls;

	(void)cls;
	(void)version;
	if (!ctx)
		return MHD_NO; /* URI callback ran out of memory */
	if (!ctx->started) {
		ctx->started = true;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!append_body(ctx, upload_data, *upload_data_size))
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	return dispatch(c, ctx, url, method);
}

static void on_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* An injected drop makes libmicrohttpd report an application error;
	 * that is the intended behaviour, not news. */
	if (strcasestr(msg, "application reported internal error"))
		return;
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	fprintf(stderr, "nmc-fake-providers: libmicrohttpd: %s\n", msg);
}

struct MHD_Daemon *router_start(unsigned port)
{
	struct sockaddr_in addr;

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* The logger must be the first option or earlier options log through
	 * libmicrohttpd's default logger. */
	return MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
				MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
				MHD_USE_ERROR_LOG,
				(uint16_t)port, NULL, NULL, on_request, NULL,
				MHD_OPTION_EXTERNAL_LOGGER, on_log, NULL,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
				MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)300,
				MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024,
				MHD_OPTION_END);
}

unsigned router_port(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);

	return info ? info->port : 0;
}
