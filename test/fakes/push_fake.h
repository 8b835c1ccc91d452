/* Web Push service fake (RFC 8030 push resources, RFC 8291 message
 * encryption, RFC 8292 VAPID). The fake plays both the push service and the
 * browser: it makes subscriptions, keeps their private keys and decrypts
 * what the application server pushes so tests can read it. */
#ifndef FAKE_PUSH_FAKE_H
#define FAKE_PUSH_FAKE_H

#include <stdbool.h>

#include "fake_http.h"

/* The port endpoints name and VAPID audiences must match; call once the
 * daemon listens. */
void push_fake_init(unsigned port);
/* Requests under /push/. */
void push_handle(const struct fake_request *rq, struct fake_reply *rp);
/* Admin requests under /_fake/push; path is what follows "/_fake/push".
 * false when no push admin route matches. */
bool push_admin_handle(const struct fake_request *rq, const char *path,
		       struct fake_reply *rp);

#endif
