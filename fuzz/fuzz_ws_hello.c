/* fuzz_ws_hello.c — the feed's handling of a client's first WebSocket
 * message (edge/ws_hello.c, called by ws_feed_client_message). Input: byte
 * 0 sets the fragment size, byte 1 how many times the rest is repeated (so
 * messages pass HELLO_MAX_BYTES), the rest is the message. Asserts the
 * outcome follows from the total length alone and a complete hello is
 * exactly the fragments in order, NUL-terminated for libpq. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws_hello.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t chunk = (size_t)data[0] * 16 + 1;
	size_t repeats = (size_t)data[1] + 1;
	const uint8_t *body = data + 2;
	size_t body_len = size - 2;
	size_t total = body_len * repeats;
	uint8_t *message = malloc(total + 1);
	for (size_t r = 0; r < repeats; r++)
		memcpy(message + r * body_len, body, body_len);

	struct string_buffer hello;
	string_buffer_init(&hello);
	enum ws_hello_step step = WS_HELLO_MORE;
	size_t off = 0;
	do {
		size_t len = total - off < chunk ? total - off : chunk;
		bool final = off + len == total;
		step = ws_hello_receive(&hello, message + off, len, final);
		off += len;
		if (step == WS_HELLO_MORE && final)
			abort();
		if (step == WS_HELLO_COMPLETE && !final)
			abort();
	} while (step == WS_HELLO_MORE);

	if (total > HELLO_MAX_BYTES) {
		if (step != WS_HELLO_TOO_LONG || hello.data != NULL || hello.len != 0)
			abort();
	} else {
		if (step != WS_HELLO_COMPLETE || hello.len != total ||
		    (total > 0 && (memcmp(hello.data, message, total) != 0 || hello.data[total] != '\0')))
			abort();
	}
	string_buffer_free(&hello);
	free(message);
	return 0;
}
