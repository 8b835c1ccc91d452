/* The fake account's IncomingPhoneNumbers (twilio_numbers.h): a fixed table
 * of owned numbers with their webhook URLs, rendered as Twilio's resource
 * (twilio.md §3: snake_case JSON, RFC 2822 dates, "in-use"). */
#include "twilio_numbers.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_config.h"
#include "fake_ids.h"

#define MAX_NUMBERS 1000

/* The URL fields a number keeps, by their REST parameter and JSON names. */
static const struct { const char *param, *json, *fallback; } url_fields[] = {
	{ "VoiceUrl", "voice_url", "" },
	{ "VoiceMethod", "voice_method", "POST" },
	{ "SmsUrl", "sms_url", "" },
	{ "SmsMethod", "sms_method", "POST" },
	{ "StatusCallback", "status_callback", "" },
	{ "StatusCallbackMethod", "status_callback_method", "POST" },
};
#define NFIELDS (sizeof(url_fields) / sizeof(url_fields[0]))

struct owned_number {
	char sid[35];
	char phone[20];
	char created[40];
	char *friendly_name;
	char *fields[NFIELDS];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct owned_number numbers[MAX_NUMBERS];
static size_t count;

static void render(struct jbuf *jb, const struct owned_number *n)
{
	const char *acct = fake_cfg.twilio_account_sid;

	jb_puts(jb, "{\"account_sid\":");
	jb_str(jb, acct);
	jb_printf(jb, ",\"address_requirements\":\"none\",\"api_version\":\"2010-04-01\",\"beta\":false,"
		  "\"capabilities\":{\"voice\":true,\"sms\":true,\"mms\":true,\"fax\":false},"
		  "\"date_created\":\"%s\",\"date_updated\":\"%s\",\"friendly_name\":", n->created, n->created);
	jb_str(jb, n->friendly_name);
	jb_puts(jb, ",\"origin\":\"twilio\",\"phone_number\":");
	jb_str(jb, n->phone);
	jb_printf(jb, ",\"sid\":\"%s\"", n->sid);
	for (size_t i = 0; i < NFIELDS; i++) {
		jb_printf(jb, ",\"%s\":", url_fields[i].json);
		jb_str(jb, n->fields[i]);
	}
	jb_printf(jb, ",\"uri\":\"/2010-04-01/Accounts/%s/IncomingPhoneNumbers/%s.json\","
		  "\"status\":\"in-use\",\"type\":\"local\"}", acct, n->sid);
}

/* Sets the fields f names (all of them when fill_defaults, a new number). */
static bool set_fields(struct owned_number *n, const struct form *f, bool fill_defaults)
{
	for (size_t i = 0; i < NFIELDS; i++) {
		const char *v = form_get(f, url_fields[i].param);
		if (v == NULL && !fill_defaults)
			continue;
		if (v == NULL || (v[0] == '\0' && strcmp(url_fields[i].fallback, "") != 0))
			v = url_fields[i].fallback;
		char *copy = strdup(v);
		if (copy == NULL)
			return false;
		free(n->fields[i]);
		n->fields[i] = copy;
	}
	return true;
}

bool twilio_numbers_add(const char *e164, const char *default_name, const struct form *f, struct jbuf *out)
{
	const char *name = form_get_nonempty(f, "FriendlyName");
	bool ok = false;

	pthread_mutex_lock(&lock);
	if (count < MAX_NUMBERS) {
		struct owned_number *n = &numbers[count];
		memset(n, 0, sizeof(*n));
		fake_sid(n->sid, "PN");
		snprintf(n->phone, sizeof(n->phone), "%s", e164);
		fake_rfc2822(n->created, time(NULL));
		n->friendly_name = strdup(name ? name : default_name);
		ok = n->friendly_name != NULL && set_fields(n, f, true);
		if (ok) {
			count++;
			render(out, n);
		} else {
			free(n->friendly_name);
			for (size_t i = 0; i < NFIELDS; i++)
				free(n->fields[i]);
		}
	}
	pthread_mutex_unlock(&lock);
	return ok;
}

void twilio_numbers_list(struct jbuf *out)
{
	pthread_mutex_lock(&lock);
	jb_puts(out, "{\"incoming_phone_numbers\":[");
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			jb_puts(out, ",");
		render(out, &numbers[i]);
	}
	jb_printf(out, "],\"page\":0,\"page_size\":%zu,\"start\":0,\"end\":%zu,\"next_page_uri\":null,"
		  "\"previous_page_uri\":null,\"uri\":\"/2010-04-01/Accounts/%s/IncomingPhoneNumbers.json\"}",
		  count > 50 ? count : 50, count > 0 ? count - 1 : 0, fake_cfg.twilio_account_sid);
	pthread_mutex_unlock(&lock);
}

bool twilio_numbers_update(const char *sid, const struct form *f, struct jbuf *out)
{
	bool found = false;

	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < count && !found; i++) {
		if (strcmp(numbers[i].sid, sid) == 0) {
			found = true;
			const char *name = form_get_nonempty(f, "FriendlyName");
			char *copy = name ? strdup(name) : NULL;
			if (copy != NULL) {
				free(numbers[i].friendly_name);
				numbers[i].friendly_name = copy;
			}
			set_fields(&numbers[i], f, false);
			render(out, &numbers[i]);
		}
	}
	pthread_mutex_unlock(&lock);
	return found;
}

void twilio_numbers_reset(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < count; i++) {
		free(numbers[i].friendly_name);
		for (size_t j = 0; j < NFIELDS; j++)
			free(numbers[i].fields[j]);
	}
	count = 0;
	pthread_mutex_unlock(&lock);
}
