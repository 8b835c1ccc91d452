/* Assembling the feed's hello (ws_hello.h): fragments are appended up to
 * HELLO_MAX_BYTES, so a client cannot make the edge buffer without limit
 * before it has authenticated. */
#include "ws_hello.h"

enum ws_hello_step ws_hello_receive(struct string_buffer *hello, const void *in,
				    size_t len, bool final)
{
	if (len > HELLO_MAX_BYTES - hello->len) {
		string_buffer_free(hello);
		return WS_HELLO_TOO_LONG;
	}
	string_buffer_append(hello, in, len);
	if (hello->failed) {
		string_buffer_free(hello);
		return WS_HELLO_NO_MEMORY;
	}
	return final ? WS_HELLO_COMPLETE : WS_HELLO_MORE;
}
