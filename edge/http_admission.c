/* The HTTP port's connection count and its reserve for Twilio. MHD's pool
 * threads each accept connections, and a connection is announced as started
 * only after the accept-policy callback let it in: so a place is taken in
 * that callback, under a lock, and pool threads accepting at once cannot
 * let more in than the cap allows. A place taken for a connection MHD then
 * drops before starting it (out of memory) would stay taken; such places
 * are given back when nothing was let in for a second (a start follows its
 * take within microseconds). */
#include "http_admission.h"

#include <pthread.h>
#include <stdlib.h>

#include "monotonic_clock.h"

#define PENDING_FORGOTTEN_MS 1000

struct http_admission {
	pthread_mutex_t lock;
	unsigned int max;
	unsigned int reserve;
	unsigned int open;      /* started, not yet closed */
	unsigned int pending;   /* let in, not yet started */
	long long last_take_ms;
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

bool http_admission_take(struct http_admission *a, bool twilio_sender)
{
	long long now = monotonic_ms();
	pthread_mutex_lock(&a->lock);
	if (a->pending > 0 && now - a->last_take_ms > PENDING_FORGOTTEN_MS)
		a->pending = 0;
	unsigned int taken = a->open + a->pending;
	unsigned int limit = twilio_sender ? a->max : a->max - a->reserve;
	bool ok = taken < limit;
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
