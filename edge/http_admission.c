/* The HTTP port's connection count and its reserve for Twilio. MHD's pool
 * threads each accept connections, and a connection is announced as started
 * only after the accept-policy callback let it in: so a place is taken in
 * that callback, under a lock, and pool threads accepting at once cannot
 * let more in than the cap allows. A place taken for a connection MHD then
 * drops before starting it (out of memory) would stay taken; such places
 * are given back when nothing was let in for a second (a start follows its
 * take within microseconds). Twilio's addresses: a fixed table of addresses
 * with the time each last sent an accepted webhook; a new address takes the
 * stalest slot. Twilio sends from a modest pool of addresses, so a few
 * hundred slots hold them. */
#include "http_admission.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "client_address.h"
#include "monotonic_clock.h"

#define PENDING_FORGOTTEN_MS 1000
#define SENDER_SLOTS 512
/* Recent enough to count as one of Twilio's addresses for the reserve. */
#define SENDER_WINDOW_MS (3600 * 1000LL)

struct sender {
	unsigned char key[16];
	long long seen_ms;    /* 0: free */
};

struct http_admission {
	pthread_mutex_t lock;
	unsigned int max;
	unsigned int reserve;
	unsigned int open;      /* started, not yet closed */
	unsigned int pending;   /* let in, not yet started */
	long long last_take_ms;
	struct sender senders[SENDER_SLOTS];
};

struct http_admission *http_admission_new(unsigned int max, unsigned int reserve)
{
	struct http_admission *a = calloc(1, sizeof *a);
	if (a == NULL)
		return NULL;
	pthread_mutex_init(&a->lock, NULL);
	a->max = max;
	a->reserve = reserve < max ? reserve : 0;
	return a;
}

void http_admission_free(struct http_admission *a)
{
	if (a == NULL)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a);
}

static bool recent_sender(struct http_admission *a, const struct sockaddr *addr, long long now)
{
	unsigned char key[16];
	if (!address_key(addr, key))
		return false;
	for (int i = 0; i < SENDER_SLOTS; i++)
		if (a->senders[i].seen_ms != 0 && a->senders[i].seen_ms >= now - SENDER_WINDOW_MS &&
		    memcmp(a->senders[i].key, key, 16) == 0)
			return true;
	return false;
}

bool http_admission_take(struct http_admission *a, const struct sockaddr *addr)
{
	long long now = monotonic_ms();
	pthread_mutex_lock(&a->lock);
	if (a->pending > 0 && now - a->last_take_ms > PENDING_FORGOTTEN_MS)
		a->pending = 0;
	unsigned int taken = a->open + a->pending;
	bool ok = taken < a->max - a->reserve || (taken < a->max && recent_sender(a, addr, now));
	if (ok) {
		a->pending++;
		a->last_take_ms = now;
	}
	pthread_mutex_unlock(&a->lock);
	return ok;
}

void http_admission_started(struct http_admission *a)
{
	pthread_mutex_lock(&a->lock);
	a->open++;
	if (a->pending > 0)
		a->pending--;
	pthread_mutex_unlock(&a->lock);
}

void http_admission_closed(struct http_admission *a)
{
	pthread_mutex_lock(&a->lock);
	if (a->open > 0)
		a->open--;
	pthread_mutex_unlock(&a->lock);
}

void http_admission_note_sender(struct http_admission *a, const struct sockaddr *addr)
{
	unsigned char key[16];
	if (!address_key(addr, key))
		return;
	long long now = monotonic_ms();
	pthread_mutex_lock(&a->lock);
	struct sender *target = &a->senders[0];
	for (int i = 0; i < SENDER_SLOTS; i++) {
		struct sender *s = &a->senders[i];
		if (s->seen_ms != 0 && memcmp(s->key, key, 16) == 0) {
			target = s;
			break;
		}
		if (s->seen_ms < target->seen_ms)
			target = s;    /* the stalest (or a free) slot so far */
	}
	memcpy(target->key, key, 16);
	target->seen_ms = now;
	pthread_mutex_unlock(&a->lock);
}
