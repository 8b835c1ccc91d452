/* The request a fake sees and the answer it builds, independent of
 * libmicrohttpd so the provider fakes stay plain functions. */
#ifndef FAKE_HTTP_H
#define FAKE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "form_parse.h"
#include "json_out.h"

struct fake_request {
	const char *method;
	const char *path;        /* percent-decoded, without the query */
	const char *query;       /* raw text after '?', "" when none */
	const char *body;        /* NUL-terminated, may contain NULs */
	size_t body_len;
	const char *authorization;
	const char *content_type;
	const char *user_agent;
	struct form args;        /* decoded query parameters */
	int64_t received_at_us;
	/* Looks up any header by name, case-insensitively (see fake_header). */
	const char *(*header)(void *cls, const char *name);
	void *header_cls;
};

/* The request header name, NULL when absent. */
const char *fake_header(const struct fake_request *rq, const char *name);

#define FAKE_REPLY_MAX_HEADERS 16

struct fake_header {
	char name[48];
	char value[128];
};

struct fake_reply {
	unsigned status;
	char *body;
	size_t body_len;
	const char *content_type; /* static string */
	struct fake_header headers[FAKE_REPLY_MAX_HEADERS];
	size_t nheaders;
};

void reply_init(struct fake_reply *rp);
void reply_free(struct fake_reply *rp);
/* Takes the document built in jb (the jbuf is emptied). */
void reply_take_body(struct fake_reply *rp, unsigned status,
		     const char *content_type, struct jbuf *jb);
/* Copies body. */
void reply_set_body(struct fake_reply *rp, unsigned status,
		    const char *content_type, const char *body, size_t len);
void reply_add_header(struct fake_reply *rp, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
