/* Singly linked frame FIFO. One allocation per frame keeps pop O(1) and
 * lets a slow client's whole backlog be dropped without touching others. */
#include "ws_queue.h"

#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

bool ws_queue_push(struct ws_queue *q, const char *text, size_t len, double notified_ms)
{
	struct ws_frame *f = malloc(sizeof *f + LWS_PRE + len);
	if (f == NULL)
		return false;
	f->next = NULL;
	f->len = len;
	f->notified_ms = notified_ms;
	memcpy(f->buf + LWS_PRE, text, len);
	if (q->tail != NULL)
		q->tail->next = f;
	else
		q->head = f;
	q->tail = f;
	q->frames++;
	q->bytes += len;
	return true;
}

unsigned char *ws_queue_peek(const struct ws_queue *q, size_t *len)
{
	if (q->head == NULL)
		return NULL;
	*len = q->head->len;
	return q->head->buf + LWS_PRE;
}

double ws_queue_peek_notified_ms(const struct ws_queue *q)
{
	return q->head != NULL ? q->head->notified_ms : 0;
}

void ws_queue_pop(struct ws_queue *q)
{
	struct ws_frame *f = q->head;
	if (f == NULL)
		return;
	q->head = f->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->frames--;
	q->bytes -= f->len;
	free(f);
}

void ws_queue_clear(struct ws_queue *q)
{
	while (q->head != NULL)
		ws_queue_pop(q);
}
