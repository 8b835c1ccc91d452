/* Google Geocoding fake, answering from the scripted address table. */
#ifndef FAKE_MAPS_H
#define FAKE_MAPS_H

#include "fake_http.h"

/* Any path under /maps/. */
void maps_handle(const struct fake_request *rq, struct fake_reply *rp);
/* Geocoding-shaped body for an injected fault status. */
void maps_fault_reply(const struct fake_request *rq, unsigned status,
		      struct fake_reply *rp);

#endif
