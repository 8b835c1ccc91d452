/* Chained hash of businesses (FNV-1a over the uuid text), each holding a
 * doubly linked list of its clients so joins and leaves are O(1). */
#include "ws_registry.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned int bucket_of(const char *id)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % WS_REGISTRY_BUCKETS;
}

struct ws_business *ws_registry_find(struct ws_registry *reg, const char *id)
{
	for (struct ws_business *b = reg->buckets[bucket_of(id)]; b; b = b->next)
		if (strcmp(b->id, id) == 0)
			return b;
	return NULL;
}

bool ws_registry_join(struct ws_registry *reg, struct ws_client *c)
{
	struct ws_business *b = ws_registry_find(reg, c->business_id);
	if (b == NULL) {
		b = calloc(1, sizeof *b);
		if (b == NULL)
			return false;
		snprintf(b->id, sizeof b->id, "%s", c->business_id);
		unsigned int i = bucket_of(b->id);
		b->next = reg->buckets[i];
		reg->buckets[i] = b;
	}
	c->business = b;
	c->biz_prev = NULL;
	c->biz_next = b->clients;
	if (b->clients != NULL)
		b->clients->biz_prev = c;
	b->clients = c;
	b->count++;
	return true;
}

void ws_registry_leave(struct ws_registry *reg, struct ws_client *c)
{
	struct ws_business *b = c->business;
	if (b == NULL)
		return;
	if (c->biz_prev != NULL)
		c->biz_prev->biz_next = c->biz_next;
	else
		b->clients = c->biz_next;
	if (c->biz_next != NULL)
		c->biz_next->biz_prev = c->biz_prev;
	c->business = NULL;
	c->biz_prev = c->biz_next = NULL;
	if (--b->count > 0)
		return;
	/* Businesses without clients are dropped at once so the index never
	 * grows with the number of businesses that ever connected. */
	struct ws_business **link = &reg->buckets[bucket_of(b->id)];
	while (*link != b)
		link = &(*link)->next;
	*link = b->next;
	free(b);
}

void ws_registry_each(struct ws_registry *reg,
		      void (*fn)(struct ws_business *b, void *arg), void *arg)
{
	for (unsigned int i = 0; i < WS_REGISTRY_BUCKETS; i++)
		for (struct ws_business *b = reg->buckets[i]; b; b = b->next)
			fn(b, arg);
}

void ws_registry_free(struct ws_registry *reg)
{
	for (unsigned int i = 0; i < WS_REGISTRY_BUCKETS; i++) {
		while (reg->buckets[i] != NULL) {
			struct ws_business *b = reg->buckets[i];
			reg->buckets[i] = b->next;
			for (struct ws_client *c = b->clients; c; c = c->biz_next)
				c->business = NULL;
			free(b);
		}
	}
}
