/* Recent webhook senders: a fixed table of addresses with the time each last
 * sent an accepted webhook; a new address takes the stalest slot. Twilio
 * sends from a modest pool of addresses, so a few hundred slots hold them. */
#include "webhook_senders.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "address_key.h"
#include "monotonic_clock.h"

#define SLOTS 512

struct sender {
	unsigned char key[16];
	long long seen_ms;    /* 0: free */
};

struct webhook_senders {
	pthread_mutex_t lock;
	struct sender slots[SLOTS];
};

struct webhook_senders *webhook_senders_new(void)
{
	struct webhook_senders *ws = calloc(1, sizeof *ws);
	if (ws != NULL && pthread_mutex_init(&ws->lock, NULL) != 0) {
		free(ws);
		return NULL;
	}
	return ws;
}

void webhook_senders_free(struct webhook_senders *ws)
{
	if (ws == NULL)
		return;
	pthread_mutex_destroy(&ws->lock);
	free(ws);
}

void webhook_senders_note(struct webhook_senders *ws, const struct sockaddr *sa)
{
	unsigned char key[16];
	if (!address_key(sa, key))
		return;
	long long now = monotonic_ms();
	pthread_mutex_lock(&ws->lock);
	struct sender *target = &ws->slots[0];
	for (int i = 0; i < SLOTS; i++) {
		struct sender *s = &ws->slots[i];
		if (s->seen_ms != 0 && memcmp(s->key, key, 16) == 0) {
			target = s;
			break;
		}
		if (s->seen_ms < target->seen_ms)
			target = s;    /* the stalest (or a free) slot so far */
	}
	memcpy(target->key, key, 16);
	target->seen_ms = now;
	pthread_mutex_unlock(&ws->lock);
}

bool webhook_senders_recent(struct webhook_senders *ws, const struct sockaddr *sa, long long window_ms)
{
	unsigned char key[16];
	if (!address_key(sa, key))
		return false;
	long long since = monotonic_ms() - window_ms;
	bool found = false;
	pthread_mutex_lock(&ws->lock);
	for (int i = 0; i < SLOTS && !found; i++)
		found = ws->slots[i].seen_ms != 0 && ws->slots[i].seen_ms >= since &&
			memcmp(ws->slots[i].key, key, 16) == 0;
	pthread_mutex_unlock(&ws->lock);
	return found;
}
