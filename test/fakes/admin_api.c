/* /_fake/ endpoints. Parameters come from the query string or, for POSTs,
 * a form body (so both `curl -X POST URL?a=b` and `curl -d a=b URL` work);
 * the query wins when both give one. Admin calls are never recorded. */
#include "admin_api.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fake_state.h"
#include "json_scan.h"
#include "push_fake.h"
#include "push_state.h"
#include "twilio_numbers.h"

#define JSON "application/json"

/* Replies return int (always 0) only so each error path reads
 * `return error_reply(...)`. */
static int ok_reply(struct fake_reply *rp, const char *extra_fmt, size_t value)
{
	struct jbuf jb;

	jb_init(&jb);
	jb_puts(&jb, "{\"ok\":true");
	if (extra_fmt)
		jb_printf(&jb, extra_fmt, value);
	jb_puts(&jb, "}");
	reply_take_body(rp, 200, JSON, &jb);
	return 0;
}

static int error_reply(struct fake_reply *rp, unsigned status, const char *message)
{
	struct jbuf jb;

	jb_init(&jb);
	jb_puts(&jb, "{\"ok\":false,\"error\":");
	jb_str(&jb, message);
	jb_puts(&jb, "}");
	reply_take_body(rp, status, JSON, &jb);
	return 0;
}

/* Whole-string unsigned decimal no larger than max. */
static bool parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

static bool truthy(const char *s)
{
	return s && (strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0 ||
		     strcasecmp(s, "yes") == 0);
}

static void since_and_path(const struct form *f, uint64_t *since, const char **path)
{
	unsigned long v;

	*since = parse_ulong(form_get(f, "since"), (unsigned long)-1, &v) ? v : 0;
	*path = form_get_nonempty(f, "path");
}

static void list_requests(const struct form *f, struct fake_reply *rp)
{
	uint64_t since;
	const char *path;
	struct jbuf jb;

	since_and_path(f, &since, &path);
	jb_init(&jb);
	fake_records_json(&jb, since, path);
	reply_take_body(rp, 200, JSON, &jb);
}

static void count_requests(const struct form *f, struct fake_reply *rp)
{
	uint64_t since;
	const char *path;
	struct jbuf jb;

	since_and_path(f, &since, &path);
	jb_init(&jb);
	jb_printf(&jb, "{\"count\":%zu}", fake_records_count(since, path));
	reply_take_body(rp, 200, JSON, &jb);
}

static int add_fault(const struct form *f, struct fake_reply *rp)
{
	const char *match = form_get_nonempty(f, "match");
	const char *s;
	unsigned long status = 0, retry_after = 0, delay = 0, count = 1;
	bool has_retry = false, drop = truthy(form_get(f, "drop"));
	size_t n;

	if (!match)
		return error_reply(rp, 400, "match (substring of the request path) is required");
	if ((s = form_get_nonempty(f, "status")) &&
	    (!parse_ulong(s, 599, &status) || status < 100))
		return error_reply(rp, 400, "status must be an HTTP status 100-599");
	if ((s = form_get_nonempty(f, "retry_after"))) {
		if (!parse_ulong(s, 86400, &retry_after))
			return error_reply(rp, 400, "retry_after must be seconds 0-86400");
		has_retry = true;
	}
	if ((s = form_get_nonempty(f, "delay_ms")) && !parse_ulong(s, 600000, &delay))
		return error_reply(rp, 400, "delay_ms must be 0-600000");
	if ((s = form_get_nonempty(f, "count")) && !parse_ulong(s, 100000000, &count))
		return error_reply(rp, 400, "count must be a non-negative integer (0: until reset)");
	if (!status && !delay && !drop && !has_retry)
		return error_reply(rp, 400, "a fault needs status, delay_ms, drop=1 or retry_after");
	n = fake_fault_add(match, (unsigned)status, form_get(f, "body"),
			   has_retry ? (long)retry_after : -1, (unsigned)delay, drop,
			   (unsigned)count);
	if (!n)
		return error_reply(rp, 500, "out of memory");
	return ok_reply(rp, ",\"pending_faults\":%zu", n);
}

static void list_faults(struct fake_reply *rp)
{
	struct jbuf jb;

	jb_init(&jb);
	fake_faults_json(&jb);
	reply_take_body(rp, 200, JSON, &jb);
}

/* One message object or an array of them; all are checked before any is
 * queued so a bad script never half-applies. */
static int script_openai(const struct fake_request *rq, struct fake_reply *rp)
{
	const char *end = rq->body + rq->body_len;
	const char *doc, *k, *v;
	size_t klen, vlen, n = 0;
	struct json_iter it;

	if (!json_valid(rq->body, rq->body_len))
		return error_reply(rp, 400, "body must be JSON: a message object or an array of them");
	doc = json_skip_ws(rq->body, end);
	if (*doc == '{') {
		n = fake_openai_push(doc, (size_t)(end - doc));
	} else if (*doc == '[') {
		json_iter_begin(&it, doc, end);
		while (json_iter_next(&it, &k, &klen, &v, &vlen))
			if (*v != '{')
				return error_reply(rp, 400, "every array element must be a message object");
		json_iter_begin(&it, doc, end);
		while (json_iter_next(&it, &k, &klen, &v, &vlen))
			n = fake_openai_push(v, vlen);
	} else {
		return error_reply(rp, 400, "body must be a message object or an array of them");
	}
	return ok_reply(rp, ",\"queued\":%zu", n);
}

static const char *const location_types[] = {
	"ROOFTOP", "RANGE_INTERPOLATED", "GEOMETRIC_CENTER", "APPROXIMATE",
};

static bool parse_coord(const char *s, double limit, double *out)
{
	char *end;

	if (!s || !*s)
		return false;
	*out = strtod(s, &end);
	return *end == '\0' && *out >= -limit && *out <= limit;
}

static int script_geocode(const struct form *f, struct fake_reply *rp)
{
	struct geo_entry e;
	const char *lt = form_get_nonempty(f, "location_type");
	size_t n;
	bool lt_ok = !lt;

	memset(&e, 0, sizeof(e));
	e.address = (char *)form_get_nonempty(f, "address");
	if (!e.address)
		return error_reply(rp, 400, "address is required");
	if (!parse_coord(form_get(f, "lat"), 90, &e.lat) ||
	    !parse_coord(form_get(f, "lng"), 180, &e.lng))
		return error_reply(rp, 400, "lat and lng are required decimal degrees");
	for (size_t i = 0; lt && i < sizeof(location_types) / sizeof(location_types[0]); i++)
		lt_ok |= strcmp(lt, location_types[i]) == 0;
	if (!lt_ok)
		return error_reply(rp, 400,
				   "location_type must be ROOFTOP, RANGE_INTERPOLATED, GEOMETRIC_CENTER or APPROXIMATE");
	snprintf(e.location_type, sizeof(e.location_type), "%s", lt ? lt : "ROOFTOP");
	e.formatted_address = (char *)form_get_nonempty(f, "formatted_address");
	if (!e.formatted_address)
		e.formatted_address = e.address;
	e.postal_code = (char *)form_get_nonempty(f, "postal_code");
	e.partial_match = truthy(form_get(f, "partial_match"));
	n = fake_geo_add(&e);
	if (!n)
		return error_reply(rp, 500, "out of memory");
	return ok_reply(rp, ",\"entries\":%zu", n);
}

/* POST /_fake/twilio/numbers?PhoneNumber=+1…&VoiceUrl=…&SmsUrl=…: a number the
 * account owned before the product saw it, with the webhooks it had. */
static int seed_twilio_number(const struct form *f, struct fake_reply *rp)
{
	const char *pn = form_get_nonempty(f, "PhoneNumber");
	struct jbuf jb;

	if (!pn || pn[0] != '+')
		return error_reply(rp, 400, "PhoneNumber (E.164) is required");
	jb_init(&jb);
	if (!twilio_numbers_add(pn, pn, f, &jb)) {
		jb_free(&jb);
		return error_reply(rp, 500, "out of memory or too many numbers");
	}
	reply_take_body(rp, 200, JSON, &jb);
	return 0;
}

static void route(const struct fake_request *rq, const struct form *f, struct fake_reply *rp)
{
	const char *p = rq->path + strlen("/_fake");
	bool get = strcmp(rq->method, "GET") == 0;
	bool post = strcmp(rq->method, "POST") == 0;

	if (strcmp(p, "/health") == 0 && get)
		ok_reply(rp, NULL, 0);
	else if (strcmp(p, "/requests") == 0 && get)
		list_requests(f, rp);
	else if (strcmp(p, "/requests/count") == 0 && get)
		count_requests(f, rp);
	else if (strcmp(p, "/reset") == 0 && post) {
		fake_state_reset();
		push_state_reset();
		twilio_numbers_reset();
		ok_reply(rp, NULL, 0);
	} else if (strcmp(p, "/faults") == 0 && post)
		add_fault(f, rp);
	else if (strcmp(p, "/faults") == 0 && get)
		list_faults(rp);
	else if (strcmp(p, "/faults") == 0 && strcmp(rq->method, "DELETE") == 0) {
		fake_faults_clear();
		ok_reply(rp, NULL, 0);
	}
	else if (strcmp(p, "/openai/responses") == 0 && post)
		script_openai(rq, rp);
	else if (strcmp(p, "/maps/geocode") == 0 && post)
		script_geocode(f, rp);
	else if (strcmp(p, "/twilio/numbers") == 0 && post)
		seed_twilio_number(f, rp);
	else if (strncmp(p, "/push/", 6) != 0 || !push_admin_handle(rq, p + 5, rp))
		error_reply(rp, 404, "unknown admin endpoint or method");
}

void admin_handle(const struct fake_request *rq, struct fake_reply *rp)
{
	struct form f;

	form_init(&f);
	if (form_parse(&f, rq->query, strlen(rq->query)) != 0 ||
	    (rq->content_type &&
	     strncasecmp(rq->content_type, "application/x-www-form-urlencoded", 33) == 0 &&
	     strcmp(rq->path, "/_fake/openai/responses") != 0 &&
	     form_parse(&f, rq->body, rq->body_len) != 0))
		error_reply(rp, 500, "out of memory");
	else
		route(rq, &f, rp);
	form_free(&f);
}
