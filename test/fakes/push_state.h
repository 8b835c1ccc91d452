/* The push fake's memory: subscriptions (the user agent's keys, so the fake
 * can decrypt what it receives) and the log of requests to /push/<id>. Its
 * own mutex; cleared by /_fake/reset with the rest of the fake's state. */
#ifndef FAKE_PUSH_STATE_H
#define FAKE_PUSH_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json_out.h"
#include "push_crypto.h"

#define PUSH_ID_LEN 34
#define PUSH_MAX_MESSAGES 10000

struct push_sub {
	char id[PUSH_ID_LEN + 1];
	EVP_PKEY *key;                /* the user agent's key pair */
	uint8_t pub[PUSH_PUB_LEN];
	uint8_t auth[PUSH_AUTH_LEN];
	bool gone;
};

/* Stores a subscription, taking ownership of s->key. false: out of memory
 * (the key is freed). */
bool push_sub_add(const struct push_sub *s);
/* Copies the subscription into out with its own reference to the key
 * (caller EVP_PKEY_free's it); false if the id is unknown. */
bool push_sub_get(const char *id, struct push_sub *out);
/* false if the id is unknown. */
bool push_sub_mark_gone(const char *id);

/* One request to /push/<id>; NULL fields are recorded as null. */
struct push_msg {
	const char *subscription;
	unsigned status;
	const uint8_t *payload;       /* decrypted plaintext */
	size_t payload_len;
	const char *error;
	long ttl;                     /* -1: none or not a number */
	const char *urgency, *topic, *vapid_sub, *vapid_aud;
	int64_t received_at_us;
};

/* Appends a copy; returns its number (1, 2, ...), 0 when out of memory. The
 * oldest entries are dropped beyond PUSH_MAX_MESSAGES. */
uint64_t push_msg_record(const struct push_msg *m);
/* JSON array of the log, oldest first. */
void push_msgs_json(struct jbuf *out);

/* Forgets every subscription and message (numbers keep counting). */
void push_state_reset(void);

#endif
