/* Subscriptions in a list (tests create a handful) and the message log as a
 * FIFO; one mutex guards both and is never held across cryptography: the
 * push endpoint copies a subscription out, with its own key reference. */
#include "push_state.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct sub_node {
	struct push_sub s;
	struct sub_node *next;
};

struct msg_node {
	uint64_t n;
	unsigned status;
	long ttl;
	int64_t received_at_us;
	size_t payload_len;
	char *subscription, *payload, *error, *urgency, *topic, *vapid_sub, *vapid_aud;
	struct msg_node *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct sub_node *subs;
static struct msg_node *msg_head, *msg_tail;
static size_t msg_count;
static uint64_t msg_last;

bool push_sub_add(const struct push_sub *s)
{
	struct sub_node *node = malloc(sizeof(*node));

	if (!node) {
		EVP_PKEY_free(s->key);
		return false;
	}
	node->s = *s;
	pthread_mutex_lock(&lock);
	node->next = subs;
	subs = node;
	pthread_mutex_unlock(&lock);
	return true;
}

static struct sub_node *find_locked(const char *id)
{
	struct sub_node *node = subs;

	while (node && strcmp(node->s.id, id) != 0)
		node = node->next;
	return node;
}

bool push_sub_get(const char *id, struct push_sub *out)
{
	struct sub_node *node;

	pthread_mutex_lock(&lock);
	node = find_locked(id);
	if (node) {
		*out = node->s;
		EVP_PKEY_up_ref(out->key);
	}
	pthread_mutex_unlock(&lock);
	return node != NULL;
}

bool push_sub_mark_gone(const char *id)
{
	struct sub_node *node;

	pthread_mutex_lock(&lock);
	node = find_locked(id);
	if (node)
		node->s.gone = true;
	pthread_mutex_unlock(&lock);
	return node != NULL;
}

static void msg_free(struct msg_node *m)
{
	free(m->subscription);
	free(m->payload);
	free(m->error);
	free(m->urgency);
	free(m->topic);
	free(m->vapid_sub);
	free(m->vapid_aud);
	free(m);
}

static bool dup_field(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return !src || *dst;
}

uint64_t push_msg_record(const struct push_msg *m)
{
	struct msg_node *node = calloc(1, sizeof(*node)), *old = NULL;
	uint64_t n;

	if (!node)
		return 0;
	node->status = m->status;
	node->ttl = m->ttl;
	node->received_at_us = m->received_at_us;
	if (m->payload) {
		node->payload = malloc(m->payload_len + 1);
		if (node->payload) {
			memcpy(node->payload, m->payload, m->payload_len);
			node->payload[m->payload_len] = '\0';
			node->payload_len = m->payload_len;
		}
	}
	if ((m->payload && !node->payload) || !dup_field(&node->subscription, m->subscription) ||
	    !dup_field(&node->error, m->error) || !dup_field(&node->urgency, m->urgency) ||
	    !dup_field(&node->topic, m->topic) || !dup_field(&node->vapid_sub, m->vapid_sub) ||
	    !dup_field(&node->vapid_aud, m->vapid_aud)) {
		msg_free(node);
		return 0;
	}
	pthread_mutex_lock(&lock);
	n = node->n = ++msg_last;
	if (msg_tail)
		msg_tail->next = node;
	else
		msg_head = node;
	msg_tail = node;
	if (++msg_count > PUSH_MAX_MESSAGES) {
		old = msg_head;
		msg_head = old->next;
		msg_count--;
	}
	pthread_mutex_unlock(&lock);
	if (old)
		msg_free(old);
	return n;
}

void push_msgs_json(struct jbuf *out)
{
	jb_puts(out, "[");
	pthread_mutex_lock(&lock);
	for (struct msg_node *m = msg_head; m; m = m->next) {
		jb_puts(out, m == msg_head ? "{\"subscription\":" : ",{\"subscription\":");
		jb_str(out, m->subscription);
		jb_printf(out, ",\"status\":%u,\"payload\":", m->status);
		if (m->payload)
			jb_strn(out, m->payload, m->payload_len);
		else
			jb_puts(out, "null");
		jb_puts(out, ",\"error\":");
		jb_str(out, m->error);
		if (m->ttl >= 0)
			jb_printf(out, ",\"ttl\":%ld", m->ttl);
		else
			jb_puts(out, ",\"ttl\":null");
		jb_puts(out, ",\"urgency\":");
		jb_str(out, m->urgency);
		jb_puts(out, ",\"topic\":");
		jb_str(out, m->topic);
		jb_puts(out, ",\"vapid_sub\":");
		jb_str(out, m->vapid_sub);
		jb_puts(out, ",\"vapid_aud\":");
		jb_str(out, m->vapid_aud);
		jb_printf(out, ",\"received_at_us\":%lld}", (long long)m->received_at_us);
	}
	pthread_mutex_unlock(&lock);
	jb_puts(out, "]");
}

void push_state_reset(void)
{
	struct sub_node *s;
	struct msg_node *m;

	pthread_mutex_lock(&lock);
	s = subs;
	m = msg_head;
	subs = NULL;
	msg_head = msg_tail = NULL;
	msg_count = 0;
	pthread_mutex_unlock(&lock);
	while (s) {
		struct sub_node *next = s->next;

		EVP_PKEY_free(s->s.key);
		free(s);
		s = next;
	}
	while (m) {
		struct msg_node *next = m->next;

		msg_free(m);
		m = next;
	}
}
