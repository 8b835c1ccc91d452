/* The fake Twilio account's phone numbers (IncomingPhoneNumbers): those it
 * bought and those an admin call seeds as owned before, each with its
 * webhook URLs, listed and updated as Twilio does. Used by twilio_fake.c and
 * admin_api.c; one mutex guards them. */
#ifndef TWILIO_NUMBERS_H
#define TWILIO_NUMBERS_H

#include <stdbool.h>

#include "form_parse.h"
#include "json_out.h"

/* Adds a number with the URL fields of f (VoiceUrl, SmsUrl, StatusCallback
 * and their methods, FriendlyName) and appends its resource JSON to out.
 * False when out of memory or full. */
bool twilio_numbers_add(const char *e164, const char *default_name, const struct form *f, struct jbuf *out);
/* {"incoming_phone_numbers": [...], paging fields} in out. */
void twilio_numbers_list(struct jbuf *out);
/* Sets the URL fields f gives on number sid and appends its resource JSON;
 * false when the account has no such number. */
bool twilio_numbers_update(const char *sid, const struct form *f, struct jbuf *out);
void twilio_numbers_reset(void);

#endif
