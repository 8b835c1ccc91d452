/* Twilio REST fake: Messages, AvailablePhoneNumbers, IncomingPhoneNumbers. */
#ifndef FAKE_TWILIO_H
#define FAKE_TWILIO_H

#include "fake_http.h"

/* Any path under /2010-04-01/. */
void twilio_handle(const struct fake_request *rq, struct fake_reply *rp);
/* Twilio-shaped error body for an injected fault status. */
void twilio_fault_reply(const struct fake_request *rq, unsigned status,
			struct fake_reply *rp);

#endif
