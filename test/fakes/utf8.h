/* UTF-8 decoding shared by the JSON writer (which must never emit invalid
 * text) and the Twilio fake (which counts characters the way Twilio does). */
#ifndef FAKE_UTF8_H
#define FAKE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length (1-4) of the well-formed sequence at p, with its code point in *cp;
 * 0 when the bytes are not valid UTF-8 (overlong, surrogate, truncated). */
size_t utf8_decode(const unsigned char *p, size_t avail, uint32_t *cp);

#endif
