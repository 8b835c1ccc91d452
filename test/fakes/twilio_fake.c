/* Twilio REST fake (twilio.md §0, §2.4-2.6, §3). Validation order and the
 * test-credential magic numbers follow Twilio so the product's error
 * handling can be exercised without a real account. */
#include "twilio_fake.h"
#include "twilio_media.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "basic_auth.h"
#include "fake_config.h"
#include "fake_ids.h"
#include "twilio_numbers.h"
#include "utf8.h"

#define API_PREFIX "/2010-04-01/Accounts/"
#define JSON "application/json"

/* Handlers return int (always 0) only so each error path reads
 * `return twilio_error(...)`. */
static int twilio_error(struct fake_reply *rp, unsigned status, int code,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int twilio_error(struct fake_reply *rp, unsigned status, int code,
			const char *fmt, ...)
{
	struct jbuf jb;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	jb_init(&jb);
	jb_printf(&jb, "{\"code\":%d,\"message\":", code);
	jb_str(&jb, msg);
	jb_printf(&jb, ",\"more_info\":\"https://www.twilio.com/docs/errors/%d\",\"status\":%u}",
		  code, status);
	reply_take_body(rp, status, JSON, &jb);
	return 0;
}

static void add_common_headers(struct fake_reply *rp)
{
	char id[33];

	fake_hex(id, 32);
	reply_add_header(rp, "Twilio-Request-Id", "RQ%s", id);
	reply_add_header(rp, "Twilio-Request-Duration", "0.042");
}

/* ---- Messages ---- */

/* GSM 03.38 basic set beyond printable ASCII (which is all basic except
 * '`' and the escape-table characters below). */
static const uint32_t gsm_basic_extra[] = {
	0xa3, 0xa5, 0xe8, 0xe9, 0xf9, 0xec, 0xf2, 0xc7, 0xd8, 0xf8, 0xc5, 0xe5,
	0x394, 0x3a6, 0x393, 0x39b, 0x3a9, 0x3a0, 0x3a8, 0x3a3, 0x398, 0x39e,
	0xc6, 0xe6, 0xdf, 0xc9, 0xa4, 0xa1, 0xc4, 0xd6, 0xd1, 0xdc, 0xa7, 0xbf,
	0xe4, 0xf6, 0xf1, 0xfc, 0xe0,
};

/* Septets a code point costs in GSM-7: 1, 2 (escape table) or 0 when the
 * character forces UCS-2. */
static int gsm_septets(uint32_t c)
{
	if (c == '\n' || c == '\r')
		return 1;
	if (c == '\f' || c == 0x20ac || (c < 0x80 && strchr("^{}\\[~]|", (int)c) && c))
		return 2;
	if (c >= 0x20 && c < 0x7f)
		return c == '`' ? 0 : 1;
	for (size_t i = 0; i < sizeof(gsm_basic_extra) / sizeof(gsm_basic_extra[0]); i++)
		if (gsm_basic_extra[i] == c)
			return 1;
	return 0;
}

/* Code points in s (an invalid byte counts as one character). */
static size_t count_chars(const char *s, unsigned *segments)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, chars = 0, septets = 0, units = 0;
	bool gsm = true;

	while (i < n) {
		uint32_t cp;
		size_t len = utf8_decode(p + i, n - i, &cp);

		if (!len) {
			len = 1;
			cp = 0xfffd;
		}
		int sep = gsm_septets(cp);

		if (sep == 0)
			gsm = false;
		septets += (size_t)sep;
		units += cp > 0xffff ? 2 : 1;
		chars++;
		i += len;
	}
	if (gsm)
		*segments = septets <= 160 ? 1 : (unsigned)((septets + 152) / 153);
	else
		*segments = units <= 70 ? 1 : (unsigned)((units + 66) / 67);
	return chars;
}

static int send_message(const struct fake_request *rq, const struct form *f,
			 struct fake_reply *rp)
{
	const char *to = form_get_nonempty(f, "To");
	const char *from = form_get_nonempty(f, "From");
	const char *mss = form_get_nonempty(f, "MessagingServiceSid");
	const char *body = form_get(f, "Body");
	size_t media = form_count(f, "MediaUrl");
	unsigned segments = 1;
	char sid[35], now[40];
	const char *acct = fake_cfg.twilio_account_sid;
	struct jbuf jb;

	(void)rq;
	if (!to)
		return twilio_error(rp, 400, 21604, "A 'To' phone number is required.");
	if ((!body || !*body) && media == 0)
		return twilio_error(rp, 400, 21602, "Message body is required.");
	if (body && count_chars(body, &segments) > 1600)
		return twilio_error(rp, 400, 21617,
				    "The concatenated message body exceeds the 1600 character limit.");
	if (!from && !mss)
		return twilio_error(rp, 400, 21603, "A 'From' phone number is required.");

	if (strcmp(to, "+15005550001") == 0)
		return twilio_error(rp, 400, 21211,
				    "The 'To' number %s is not a valid phone number.", to);
	if (strcmp(to, "+15005550002") == 0)
		return twilio_error(rp, 400, 21612,
				    "The 'To' phone number: %s, is not currently reachable using the 'From' phone number: %s via SMS.",
				    to, from ? from : "");
	if (strcmp(to, "+15005550003") == 0)
		return twilio_error(rp, 400, 21408,
				    "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: %s.",
				    to);
	if (strcmp(to, "+15005550004") == 0)
		return twilio_error(rp, 400, 21610, "Attempt to send to unsubscribed recipient");
	if (strcmp(to, "+15005550009") == 0)
		return twilio_error(rp, 400, 21614, "'To' number is not a valid mobile number");
	if (from && strcmp(from, "+15005550001") == 0)
		return twilio_error(rp, 400, 21212,
				    "The 'From' number %s is not a valid phone number, shortcode, or alphanumeric sender ID.",
				    from);
	if (from && strcmp(from, "+15005550007") == 0)
		return twilio_error(rp, 400, 21606,
				    "The From phone number %s is not a valid, SMS-capable inbound phone number or short code for your account.",
				    from);
	if (from && strcmp(from, "+15005550008") == 0)
		return twilio_error(rp, 400, 21611,
				    "This 'From' number has exceeded the maximum number of queued messages");

	fake_sid(sid, "SM");
	fake_rfc2822(now, time(NULL));
	jb_init(&jb);
	jb_puts(&jb, "{\"account_sid\":");
	jb_str(&jb, acct);
	jb_puts(&jb, ",\"api_version\":\"2010-04-01\",\"body\":");
	jb_str(&jb, body ? body : "");
	jb_printf(&jb, ",\"date_created\":\"%s\",\"date_sent\":null,\"date_updated\":\"%s\","
		  "\"direction\":\"outbound-api\",\"error_code\":null,\"error_message\":null,\"from\":",
		  now, now);
	jb_str(&jb, from);
	jb_puts(&jb, ",\"messaging_service_sid\":");
	jb_str(&jb, mss);
	jb_printf(&jb, ",\"num_media\":\"%zu\",\"num_segments\":\"%u\",\"price\":null,"
		  "\"price_unit\":\"USD\",\"sid\":\"%s\",\"status\":\"%s\","
		  "\"subresource_uris\":{\"media\":",
		  media, segments, sid, from ? "queued" : "accepted");
	jb_printf(&jb, "\"/2010-04-01/Accounts/%s/Messages/%s/Media.json\"},\"to\":", acct, sid);
	jb_str(&jb, to);
	jb_printf(&jb, ",\"uri\":\"/2010-04-01/Accounts/%s/Messages/%s.json\"}", acct, sid);
	reply_take_body(rp, 201, JSON, &jb);
	return 0;
}

/* ---- phone numbers ---- */

struct area {
	const char *code, *locality, *region, *postal, *lat, *lng, *lata, *rate_center;
};

/* A few real-looking places; other area codes reuse the first row, which
 * is enough for a fake (the numbers themselves are fictional 555-01xx). */
static const struct area areas[] = {
	{ "217", "Springfield", "IL", "62701", "39.800000", "-89.650000", "376", "SPRINGFIELD" },
	{ "512", "Austin", "TX", "78701", "30.267200", "-97.743100", "558", "AUSTIN" },
	{ "312", "Chicago", "IL", "60601", "41.878100", "-87.629800", "358", "CHICAGO" },
	{ "415", "San Francisco", "CA", "94103", "37.774900", "-122.419400", "722", "SNFC CNTL" },
	{ "212", "New York", "NY", "10001", "40.712800", "-74.006000", "132", "NWYRCYZN01" },
};

static const struct area *area_for(const char *code)
{
	for (size_t i = 0; i < sizeof(areas) / sizeof(areas[0]); i++)
		if (strcmp(areas[i].code, code) == 0)
			return &areas[i];
	return &areas[0];
}

static bool is_area_code(const char *s)
{
	return strlen(s) == 3 && isdigit((unsigned char)s[0]) &&
	       isdigit((unsigned char)s[1]) && isdigit((unsigned char)s[2]);
}

/* "(217) 555-0142" for +1 numbers with ten digits, else the number itself. */
static void friendly(char *out, size_t size, const char *e164)
{
	if (strlen(e164) == 12 && strncmp(e164, "+1", 2) == 0)
		snprintf(out, size, "(%.3s) %.3s-%.4s", e164 + 2, e164 + 5, e164 + 8);
	else
		snprintf(out, size, "%s", e164);
}

static int search_numbers(const struct fake_request *rq, const char *cc,
			   struct fake_reply *rp)
{
	const char *ac = form_get_nonempty(&rq->args, "AreaCode");
	const char *ps = form_get_nonempty(&rq->args, "PageSize");
	long page_size = 50;
	const struct area *a;
	struct jbuf jb;
	int n;

	if (ac && !is_area_code(ac))
		return twilio_error(rp, 400, 21451, "Invalid area code: %s", ac);
	if (ps) {
		char *end;
		long v = strtol(ps, &end, 10);

		if (*end == '\0' && v > 0)
			page_size = v > 1000 ? 1000 : v;
	}
	n = page_size < 20 ? (int)page_size : 20;
	if (ac && strcmp(ac, "533") == 0)
		n = 0;
	if (!ac)
		ac = "217";
	a = area_for(ac);

	jb_init(&jb);
	jb_printf(&jb, "{\"uri\":");
	{
		struct jbuf uri;

		jb_init(&uri);
		jb_printf(&uri, "/2010-04-01/Accounts/%s/AvailablePhoneNumbers/%s/Local.json%s%s",
			  fake_cfg.twilio_account_sid, cc, *rq->query ? "?" : "", rq->query);
		if (uri.failed)
			jb.failed = true;
		else
			jb_str(&jb, uri.data);
		jb_free(&uri);
	}
	jb_puts(&jb, ",\"available_phone_numbers\":[");
	for (int i = 0; i < n; i++) {
		char num[16], name[24];

		snprintf(num, sizeof(num), "+1%s55501%02d", ac, 42 + i);
		friendly(name, sizeof(name), num);
		jb_printf(&jb, "%s{\"friendly_name\":\"%s\",\"phone_number\":\"%s\","
			  "\"lata\":\"%s\",\"locality\":\"%s\",\"rate_center\":\"%s\","
			  "\"latitude\":\"%s\",\"longitude\":\"%s\",\"region\":\"%s\","
			  "\"postal_code\":\"%s\",\"iso_country\":\"%s\","
			  "\"address_requirements\":\"none\",\"beta\":false,"
			  "\"capabilities\":{\"voice\":true,\"SMS\":true,\"MMS\":true}}",
			  i ? "," : "", name, num, a->lata, a->locality, a->rate_center,
			  a->lat, a->lng, a->region, a->postal, cc);
	}
	jb_puts(&jb, "]}");
	reply_take_body(rp, 200, JSON, &jb);
	return 0;
}

static bool is_e164(const char *s)
{
	size_t n = strlen(s);

	if (s[0] != '+' || n < 9 || n > 16)
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static int buy_number(const struct fake_request *rq, const struct form *f,
		       struct fake_reply *rp)
{
	static unsigned bought;
	const char *pn = form_get_nonempty(f, "PhoneNumber");
	const char *ac = form_get_nonempty(f, "AreaCode");
	char num[20], name[24];
	struct jbuf jb;

	(void)rq;
	if (!pn && !ac)
		return twilio_error(rp, 400, 21421, "A 'PhoneNumber' or 'AreaCode' is required.");
	if (pn) {
		if (strcmp(pn, "+15005550000") == 0)
			return twilio_error(rp, 400, 21422,
					    "Phone number %s is not available.", pn);
		if (strcmp(pn, "+15005550001") == 0 || !is_e164(pn))
			return twilio_error(rp, 400, 21421,
					    "Phone number %s is invalid.", pn);
		snprintf(num, sizeof(num), "%s", pn);
	} else {
		if (!is_area_code(ac))
			return twilio_error(rp, 400, 21451, "Invalid area code: %s", ac);
		if (strcmp(ac, "533") == 0)
			return twilio_error(rp, 400, 21452,
					    "No phone numbers found in area code %s.", ac);
		snprintf(num, sizeof(num), "+1%s55501%02u", ac,
			 __atomic_fetch_add(&bought, 1, __ATOMIC_RELAXED) % 100);
	}
	friendly(name, sizeof(name), num);
	jb_init(&jb);
	if (!twilio_numbers_add(num, name, f, &jb)) {
		jb_free(&jb);
		return twilio_error(rp, 500, 20500, "Internal Server Error");
	}
	reply_take_body(rp, 201, JSON, &jb);
	return 0;
}

/* POST IncomingPhoneNumbers/{PN...}.json: new webhook URLs for a number the account owns. */
static int update_number(const char *sid_json, const struct form *f, struct fake_reply *rp)
{
	char sid[35];
	size_t len = strlen(sid_json);
	struct jbuf jb;

	if (len != 34 + strlen(".json") || strcmp(sid_json + 34, ".json") != 0)
		return twilio_error(rp, 404, 20404, "The requested resource was not found");
	memcpy(sid, sid_json, 34);
	sid[34] = '\0';
	jb_init(&jb);
	if (!twilio_numbers_update(sid, f, &jb)) {
		jb_free(&jb);
		return twilio_error(rp, 404, 20404, "The requested resource /2010-04-01/Accounts/%s/IncomingPhoneNumbers/%s.json was not found",
				    fake_cfg.twilio_account_sid, sid);
	}
	reply_take_body(rp, 200, JSON, &jb);
	return 0;
}

/* ---- routing ---- */

static int not_found(const struct fake_request *rq, struct fake_reply *rp)
{
	return twilio_error(rp, 404, 20404, "The requested resource %s was not found", rq->path);
}

static int method_not_allowed(const struct fake_request *rq, struct fake_reply *rp)
{
	return twilio_error(rp, 405, 20004, "Method %s not allowed on %s", rq->method, rq->path);
}

static int route(const struct fake_request *rq, struct fake_reply *rp)
{
	const char *acct = fake_cfg.twilio_account_sid;
	size_t alen = strlen(acct);
	const char *sid, *rest, *slash;
	bool post = strcmp(rq->method, "POST") == 0;
	struct form body;

	if (!basic_auth_matches(rq->authorization, acct, fake_cfg.twilio_auth_token))
		return twilio_error(rp, 401, 20003, "Authenticate");
	if (strncmp(rq->path, API_PREFIX, strlen(API_PREFIX)) != 0)
		return not_found(rq, rp);
	sid = rq->path + strlen(API_PREFIX);
	slash = strchr(sid, '/');
	if (!slash)
		return not_found(rq, rp);
	/* Valid credentials for one account do not open another's resources. */
	if ((size_t)(slash - sid) != alen || strncmp(sid, acct, alen) != 0)
		return twilio_error(rp, 401, 20003, "Authenticate");
	rest = slash + 1;

	if (strcmp(rest, "IncomingPhoneNumbers.json") == 0 && strcmp(rq->method, "GET") == 0) {
		struct jbuf jb;

		jb_init(&jb);
		twilio_numbers_list(&jb);
		reply_take_body(rp, 200, JSON, &jb);
		return 0;
	}
	if (strncmp(rest, "IncomingPhoneNumbers/", 21) == 0) {
		if (!post)
			return method_not_allowed(rq, rp);
		form_init(&body);
		if (form_parse(&body, rq->body, rq->body_len) != 0) {
			form_free(&body);
			return twilio_error(rp, 500, 20500, "Internal Server Error");
		}
		update_number(rest + 21, &body, rp);
		form_free(&body);
		return 0;
	}
	if (strcmp(rest, "Messages.json") == 0 || strcmp(rest, "IncomingPhoneNumbers.json") == 0) {
		if (!post)
			return method_not_allowed(rq, rp);
		form_init(&body);
		if (form_parse(&body, rq->body, rq->body_len) != 0) {
			form_free(&body);
			return twilio_error(rp, 500, 20500, "Internal Server Error");
		}
		if (rest[0] == 'M')
			send_message(rq, &body, rp);
		else
			buy_number(rq, &body, rp);
		form_free(&body);
		return 0;
	}
	if (twilio_media_route(rq, rest, rp))
		return 0;
	if (strncmp(rest, "AvailablePhoneNumbers/", 22) == 0) {
		const char *cc = rest + 22;

		if (strlen(cc) == 2 + strlen("/Local.json") &&
		    isupper((unsigned char)cc[0]) && isupper((unsigned char)cc[1]) &&
		    strcmp(cc + 2, "/Local.json") == 0) {
			char code[3] = { cc[0], cc[1], '\0' };

			if (strcmp(rq->method, "GET") != 0)
				return method_not_allowed(rq, rp);
			return search_numbers(rq, code, rp);
		}
	}
	return not_found(rq, rp);
}

void twilio_handle(const struct fake_request *rq, struct fake_reply *rp)
{
	route(rq, rp);
	if (rp->status == 401)
		reply_add_header(rp, "WWW-Authenticate", "Basic realm=\"Twilio API\"");
	add_common_headers(rp);
}

void twilio_fault_reply(const struct fake_request *rq, unsigned status,
			struct fake_reply *rp)
{
	if (status == 429)
		twilio_error(rp, status, 20429, "Too Many Requests");
	else if (status >= 500)
		twilio_error(rp, status, 20500, "Internal Server Error");
	else if (status == 401)
		twilio_error(rp, status, 20003, "Authenticate");
	else if (status == 404)
		not_found(rq, rp);
	else if (status == 403)
		twilio_error(rp, status, 20403, "Forbidden");
	else
		twilio_error(rp, status, 20001, "Injected fault (HTTP %u)", status);
	add_common_headers(rp);
}
