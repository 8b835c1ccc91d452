/* Building fake_reply values. A body that failed to build (out of memory)
 * turns into a 500 rather than a truncated document. */
#include "fake_http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *fake_header(const struct fake_request *rq, const char *name)
{
	return rq->header ? rq->header(rq->header_cls, name) : NULL;
}

void reply_init(struct fake_reply *rp)
{
	memset(rp, 0, sizeof(*rp));
}

void reply_free(struct fake_reply *rp)
{
	free(rp->body);
	reply_init(rp);
}

static void set_failed(struct fake_reply *rp)
{
	free(rp->body);
	rp->status = 500;
	rp->content_type = "text/plain";
	rp->body = NULL;
	rp->body_len = 0;
}

void reply_take_body(struct fake_reply *rp, unsigned status,
		     const char *content_type, struct jbuf *jb)
{
	size_t len;
	char *d = jb_take(jb, &len);

	if (!d) {
		set_failed(rp);
		return;
	}
	free(rp->body);
	rp->status = status;
	rp->content_type = content_type;
	rp->body = d;
	rp->body_len = len;
}

void reply_set_body(struct fake_reply *rp, unsigned status,
		    const char *content_type, const char *body, size_t len)
{
	char *d = malloc(len + 1);

	if (!d) {
		set_failed(rp);
		return;
	}
	memcpy(d, body, len);
	d[len] = '\0';
	free(rp->body);
	rp->status = status;
	rp->content_type = content_type;
	rp->body = d;
	rp->body_len = len;
}

void reply_add_header(struct fake_reply *rp, const char *name, const char *fmt, ...)
{
	struct fake_header *h;
	va_list ap;

	if (rp->nheaders == FAKE_REPLY_MAX_HEADERS)
		return;
	h = &rp->headers[rp->nheaders++];
	snprintf(h->name, sizeof(h->name), "%s", name);
	va_start(ap, fmt);
	vsnprintf(h->value, sizeof(h->value), fmt, ap);
	va_end(ap);
}
