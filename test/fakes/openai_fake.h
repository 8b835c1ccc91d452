/* OpenAI chat-completions fake, answering from the scripted FIFO. */
#ifndef FAKE_OPENAI_H
#define FAKE_OPENAI_H

#include <stdbool.h>

#include "fake_http.h"

/* Any path under /v1/. */
void openai_handle(const struct fake_request *rq, struct fake_reply *rp);
/* OpenAI-shaped error body (and headers) for an injected fault status. */
void openai_fault_reply(const struct fake_request *rq, unsigned status,
			struct fake_reply *rp);

/* An OpenAI error document; param and code are JSON literals (quoted or null). */
void openai_error(struct fake_reply *rp, unsigned status, const char *message,
		  const char *type, const char *param, const char *code);
/* Checks the Bearer key; answers 401 and returns false when wrong. */
bool openai_check_key(const struct fake_request *rq, struct fake_reply *rp);
/* POST /v1/audio/transcriptions (openai_transcribe.c). */
void openai_transcribe(const struct fake_request *rq, struct fake_reply *rp);

#endif
