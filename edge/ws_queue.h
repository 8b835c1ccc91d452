/* A WebSocket client's outgoing frames: a FIFO of text frames, each stored
 * with the LWS_PRE headroom lws_write needs, so a frame is copied once on
 * the way in and written in place. Counts frames and bytes for the bound. */
#ifndef NMC_WS_QUEUE_H
#define NMC_WS_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

struct ws_frame {
	struct ws_frame *next;
	size_t len;                /* text length, headroom excluded */
	double notified_ms;        /* monotonic ms its NOTIFY arrived; 0 for replayed frames */
	unsigned char buf[];       /* LWS_PRE bytes, then the text */
};

struct ws_queue {
	struct ws_frame *head;
	struct ws_frame *tail;
	size_t frames;
	size_t bytes;
};

/* Appends a copy of text. Returns false when out of memory. */
bool ws_queue_push(struct ws_queue *q, const char *text, size_t len, double notified_ms);
/* The oldest frame's text (len in *len), or NULL when empty. */
unsigned char *ws_queue_peek(const struct ws_queue *q, size_t *len);
/* When the oldest frame's notification arrived (0: not from a notification). */
double ws_queue_peek_notified_ms(const struct ws_queue *q);
void ws_queue_pop(struct ws_queue *q);
void ws_queue_clear(struct ws_queue *q);

#endif
