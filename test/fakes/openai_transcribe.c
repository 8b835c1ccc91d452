/* POST /v1/audio/transcriptions: multipart/form-data with file (the audio),
 * model and an optional response_format (json, the default, or text), as
 * OpenAI's public API reference describes; answers {"text": "…"}. The
 * transcript is fixed words plus the size of the file received, so a test
 * sees that the whole recording arrived. */
#include <stdio.h>
#include <string.h>

#include "multipart.h"
#include "openai_fake.h"

#define TRANSCRIPT "Hi, this is Dana Smith at 12 Oak Street. Our water heater is leaking into the garage, please call me back."

void openai_transcribe(const struct fake_request *rq, struct fake_reply *rp)
{
	struct multipart_part parts[MULTIPART_MAX_PARTS];
	size_t n = 0;
	const struct multipart_part *file, *model, *format;
	char text[256];

	if (!multipart_parse(rq->content_type, rq->body, rq->body_len, parts, &n)) {
		openai_error(rp, 400, "Could not parse multipart form", "invalid_request_error", "null", "null");
		return;
	}
	file = multipart_find(parts, n, "file");
	model = multipart_find(parts, n, "model");
	format = multipart_find(parts, n, "response_format");
	if (!model || model->len == 0) {
		openai_error(rp, 400, "you must provide a model parameter", "invalid_request_error", "null", "null");
		return;
	}
	if (!file || file->len == 0 || file->filename[0] == '\0') {
		openai_error(rp, 400, "1 validation error for Request\nbody -> file\n  field required (type=value_error.missing)",
			     "invalid_request_error", "null", "null");
		return;
	}
	snprintf(text, sizeof(text), "%s (%zu bytes)", TRANSCRIPT, file->len);
	if (format && format->len == 4 && memcmp(format->data, "text", 4) == 0) {
		reply_set_body(rp, 200, "text/plain; charset=utf-8", text, strlen(text));
		return;
	}
	{
		struct jbuf jb;

		jb_init(&jb);
		jb_puts(&jb, "{\"text\":");
		jb_str(&jb, text);
		jb_puts(&jb, "}");
		reply_take_body(rp, 200, "application/json", &jb);
	}
}
