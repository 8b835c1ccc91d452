/* The push fake's HTTP surface: POST /push/<id> checked in RFC order
 * (subscription, VAPID, TTL, content coding, size, decryption) with every
 * request logged, and the /_fake/push admin routes tests use as the
 * browser. */
#include "push_fake.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "b64url.h"
#include "fake_ids.h"
#include "push_state.h"
#include "vapid.h"

#define JSON "application/json"
#define PUSH_PREFIX "/push/"
/* RFC 8291 §4: push services need accept no more than 4096 bytes. */
#define PUSH_MAX_BODY 4096

static char origin[32] = "http://127.0.0.1:0";

void push_fake_init(unsigned port)
{
	snprintf(origin, sizeof(origin), "http://127.0.0.1:%u", port);
}

static void error_reply(struct fake_reply *rp, unsigned status, const char *message)
{
	struct jbuf jb;

	jb_init(&jb);
	jb_puts(&jb, "{\"error\":");
	jb_str(&jb, message);
	jb_puts(&jb, "}");
	reply_take_body(rp, status, JSON, &jb);
}

/* delta-seconds (RFC 8030 §5.2); -1 if absent or not a number. */
static long parse_ttl(const char *s)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		return -1;
	v = strtoul(s, &end, 10);
	return *end == '\0' && v <= 0x7fffffffUL ? (long)v : -1;
}

/* Returns the status and sets *why (NULL for 201) and *plain. */
static unsigned accept_push(const struct fake_request *rq, const struct push_sub *sub,
			    long ttl, struct vapid_claims *claims, char *err, size_t errlen,
			    const char **why, uint8_t **plain, size_t *plain_len)
{
	const char *ce = fake_header(rq, "Content-Encoding");
	unsigned status;

	*why = err;
	if (sub->gone) {
		*why = "push subscription has expired or was unsubscribed";
		return 410;
	}
	if (strcmp(rq->method, "POST") != 0) {
		*why = "a push resource accepts POST only (RFC 8030 §5)";
		return 405;
	}
	status = vapid_check(rq->authorization, origin, time(NULL), claims, err, errlen);
	if (status)
		return status;
	if (!fake_header(rq, "TTL")) {
		*why = "the TTL header is required (RFC 8030 §5.2)";
		return 400;
	}
	if (ttl < 0) {
		*why = "TTL must be a whole number of seconds (RFC 8030 §5.2)";
		return 400;
	}
	if (!ce || strcasecmp(ce, "aes128gcm") != 0) {
		*why = "Content-Encoding must be aes128gcm (RFC 8291 §4)";
		return 415;
	}
	if (rq->body_len > PUSH_MAX_BODY) {
		*why = "body over 4096 bytes (RFC 8291 §4)";
		return 413;
	}
	if (push_decrypt(sub->key, sub->pub, sub->auth, (const uint8_t *)rq->body,
			 rq->body_len, plain, plain_len, why))
		return 400;
	*why = NULL;
	return 201;
}

void push_handle(const struct fake_request *rq, struct fake_reply *rp)
{
	const char *id = rq->path + strlen(PUSH_PREFIX);
	struct vapid_claims claims = { NULL, NULL };
	struct push_sub sub;
	struct push_msg m;
	bool found = push_sub_get(id, &sub);
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	char err[256];
	uint64_t n;

	memset(&m, 0, sizeof(m));
	m.subscription = id;
	m.ttl = parse_ttl(fake_header(rq, "TTL"));
	m.urgency = fake_header(rq, "Urgency");
	m.topic = fake_header(rq, "Topic");
	m.received_at_us = rq->received_at_us;
	if (!found) {
		m.status = 404;
		m.error = "no such push subscription";
	} else {
		m.status = accept_push(rq, &sub, m.ttl, &claims, err, sizeof(err), &m.error,
				       &plain, &plain_len);
		EVP_PKEY_free(sub.key);
	}
	m.payload = plain;
	m.payload_len = plain_len;
	m.vapid_sub = claims.sub;
	m.vapid_aud = claims.aud;
	n = push_msg_record(&m);
	if (m.status != 201) {
		error_reply(rp, m.status, m.error);
		if (m.status == 405)
			reply_add_header(rp, "Allow", "POST");
	} else if (!n) {
		error_reply(rp, 500, "out of memory");
	} else {
		rp->status = 201;
		reply_add_header(rp, "Location", "%s%s/messages/%llu", PUSH_PREFIX, id,
				 (unsigned long long)n);
		reply_add_header(rp, "TTL", "%ld", m.ttl);
	}
	free(plain);
	vapid_claims_free(&claims);
}

/* ---- /_fake/push ---- */

static void create_subscription(struct fake_reply *rp)
{
	char p256dh[B64URL_LEN(PUSH_PUB_LEN) + 1], auth[B64URL_LEN(PUSH_AUTH_LEN) + 1];
	struct push_sub s;
	struct jbuf jb;

	memset(&s, 0, sizeof(s));
	s.key = push_key_generate(s.pub);
	if (!s.key || RAND_bytes(s.auth, PUSH_AUTH_LEN) != 1) {
		EVP_PKEY_free(s.key);
		error_reply(rp, 500, "key generation failed");
		return;
	}
	fake_sid(s.id, "PS");
	b64url_encode(s.pub, PUSH_PUB_LEN, p256dh);
	b64url_encode(s.auth, PUSH_AUTH_LEN, auth);
	if (!push_sub_add(&s)) {
		error_reply(rp, 500, "out of memory");
		return;
	}
	/* Shaped like the browser's PushSubscription.toJSON(), plus the id. */
	jb_init(&jb);
	jb_printf(&jb, "{\"id\":\"%s\",\"endpoint\":\"%s%s%s\",\"expirationTime\":null,"
		  "\"keys\":{\"p256dh\":\"%s\",\"auth\":\"%s\"}}",
		  s.id, origin, PUSH_PREFIX, s.id, p256dh, auth);
	reply_take_body(rp, 201, JSON, &jb);
}

/* "/subscriptions/<id>/gone": copies id (empty when too long to be one of
 * ours, so it matches nothing) and returns true. */
static bool gone_path(const char *path, char id[PUSH_ID_LEN + 1])
{
	static const char prefix[] = "/subscriptions/";
	const char *p = path + sizeof(prefix) - 1, *slash;
	size_t n;

	if (strncmp(path, prefix, sizeof(prefix) - 1) != 0 || !(slash = strchr(p, '/')) ||
	    slash == p || strcmp(slash, "/gone") != 0)
		return false;
	n = (size_t)(slash - p) <= PUSH_ID_LEN ? (size_t)(slash - p) : 0;
	memcpy(id, p, n);
	id[n] = '\0';
	return true;
}

bool push_admin_handle(const struct fake_request *rq, const char *path,
		       struct fake_reply *rp)
{
	bool get = strcmp(rq->method, "GET") == 0;
	bool post = strcmp(rq->method, "POST") == 0;
	char id[PUSH_ID_LEN + 1];

	if (strcmp(path, "/subscriptions") == 0 && post) {
		create_subscription(rp);
	} else if (strcmp(path, "/messages") == 0 && get) {
		struct jbuf jb;

		jb_init(&jb);
		push_msgs_json(&jb);
		reply_take_body(rp, 200, JSON, &jb);
	} else if (post && gone_path(path, id)) {
		if (push_sub_mark_gone(id))
			rp->status = 204;
		else
			error_reply(rp, 404, "no such push subscription");
	} else {
		return false;
	}
	return true;
}
