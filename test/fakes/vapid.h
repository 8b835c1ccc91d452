/* VAPID (RFC 8292): the push service's check of an application server's
 * `Authorization: vapid t=<JWT>, k=<key>` header. */
#ifndef FAKE_VAPID_H
#define FAKE_VAPID_H

#include <stddef.h>
#include <time.h>

/* Claims worth recording, whether or not the JWT verified; malloc'd or
 * NULL. */
struct vapid_claims {
	char *sub;
	char *aud;
};

/* Checks authorization (the header value, NULL if absent) against the
 * push service origin aud at time now. Returns 0 when valid, otherwise the
 * status to answer (401 absent, 403 anything wrong) with why in err. The
 * caller frees claims with vapid_claims_free in every case. */
unsigned vapid_check(const char *authorization, const char *aud, time_t now,
		     struct vapid_claims *claims, char *err, size_t errlen);
void vapid_claims_free(struct vapid_claims *claims);

#endif
