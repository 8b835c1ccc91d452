/* The /_fake/ control API used by tests: inspect recorded requests, inject
 * faults, script OpenAI answers and geocode results, make and read Web Push
 * subscriptions, reset. */
#ifndef FAKE_ADMIN_API_H
#define FAKE_ADMIN_API_H

#include "fake_http.h"

void admin_handle(const struct fake_request *rq, struct fake_reply *rp);

#endif
