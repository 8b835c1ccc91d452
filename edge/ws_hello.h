/* The first message a feed client sends (its hello), assembled from
 * WebSocket fragments without sockets or database: ws_feed.c feeds it what
 * lws receives; fuzz/fuzz_ws_hello.c feeds it bytes. */
#ifndef NMC_WS_HELLO_H
#define NMC_WS_HELLO_H

#include <stdbool.h>
#include <stddef.h>

#include "string_buffer.h"

/* The hello is a small JSON object; anything longer is refused. */
#define HELLO_MAX_BYTES 8192

enum ws_hello_step {
	WS_HELLO_MORE,       /* a fragment taken; the message goes on */
	WS_HELLO_COMPLETE,   /* the whole hello is in the buffer */
	WS_HELLO_TOO_LONG,   /* past HELLO_MAX_BYTES: buffer freed */
	WS_HELLO_NO_MEMORY,  /* buffer freed */
};

/* Takes one received fragment; final is true on the last one of a message. */
enum ws_hello_step ws_hello_receive(struct string_buffer *hello, const void *in,
				    size_t len, bool final);

#endif
