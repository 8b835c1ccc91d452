/* OpenAI chat-completions fake, answering from the scripted FIFO. */
#ifndef FAKE_OPENAI_H
#define FAKE_OPENAI_H

#include "fake_http.h"

/* Any path under /v1/. */
void openai_handle(const struct fake_request *rq, struct fake_reply *rp);
/* OpenAI-shaped error body (and headers) for an injected fault status. */
void openai_fault_reply(const struct fake_request *rq, unsigned status,
			struct fake_reply *rp);

#endif
