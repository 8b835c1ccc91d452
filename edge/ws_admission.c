/* Connection caps of the live-feed port: a count per client address
 * (address_key, client_address.c) in a small table with
 * linear search, as long as the total cap — fine for thousands, and only
 * touched when a connection opens or closes. */
#include "ws_admission.h"

#include <stdlib.h>
#include <string.h>

#include "client_address.h"

struct slot {
	unsigned char addr[16];   /* IPv4 as ::ffff:a.b.c.d */
	unsigned int count;       /* 0: free */
};

struct ws_admission {
	unsigned int total;
	unsigned int per_client;
	unsigned int open;
	unsigned int nslots;
	struct slot *slots;
};

static struct slot *find(const struct ws_admission *a, const unsigned char key[16])
{
	for (unsigned int i = 0; i < a->nslots; i++)
		if (a->slots[i].count > 0 && memcmp(a->slots[i].addr, key, 16) == 0)
			return &a->slots[i];
	return NULL;
}

struct ws_admission *ws_admission_new(unsigned int total, unsigned int per_client)
{
	struct ws_admission *a = calloc(1, sizeof *a);
	if (a == NULL)
		return NULL;
	a->total = total;
	a->per_client = per_client;
	/* One slot per connection the caps allow, plus room for the few counted
	 * past them (a connection is counted once it is open). */
	a->nslots = total + 16;
	a->slots = calloc(a->nslots, sizeof *a->slots);
	if (a->slots == NULL) {
		free(a);
		return NULL;
	}
	return a;
}

void ws_admission_free(struct ws_admission *a)
{
	if (a == NULL)
		return;
	free(a->slots);
	free(a);
}

bool ws_admission_allows(const struct ws_admission *a, const struct sockaddr *addr)
{
	unsigned char key[16];
	if (a->open >= a->total)
		return false;
	if (!address_key(addr, key))
		return true;   /* not an IP peer (never on this port) */
	const struct slot *s = find(a, key);
	return s == NULL || s->count < a->per_client;
}

void ws_admission_count(struct ws_admission *a, const struct sockaddr *addr)
{
	unsigned char key[16];
	a->open++;
	if (!address_key(addr, key))
		return;
	struct slot *s = find(a, key);
	if (s == NULL) {
		for (unsigned int i = 0; i < a->nslots && s == NULL; i++)
			if (a->slots[i].count == 0)
				s = &a->slots[i];
		if (s == NULL)
			return;   /* table full: counted in the total only */
		memcpy(s->addr, key, 16);
	}
	s->count++;
}

void ws_admission_release(struct ws_admission *a, const struct sockaddr *addr)
{
	unsigned char key[16];
	if (a->open > 0)
		a->open--;
	if (!address_key(addr, key))
		return;
	struct slot *s = find(a, key);
	if (s != NULL)
		s->count--;
}

unsigned int ws_admission_open(const struct ws_admission *a)
{
	return a->open;
}
