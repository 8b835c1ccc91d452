/* Files Twilio holds: voicemail recordings and MMS media (GET, with the
 * account's credentials), and the storage host media redirects to. */
#ifndef TWILIO_MEDIA_H
#define TWILIO_MEDIA_H

#include <stdbool.h>

#include "fake_http.h"

/* rest: the path after /2010-04-01/Accounts/{AccountSid}/ (credentials
 * already checked). Answers and returns true when it is a file's path. */
bool twilio_media_route(const struct fake_request *rq, const char *rest, struct fake_reply *rp);

/* GET /twilio-storage/{MediaSid}: where a media URL redirects, no credentials
 * (a signed storage URL in real life). */
void twilio_storage_handle(const struct fake_request *rq, struct fake_reply *rp);

#endif
