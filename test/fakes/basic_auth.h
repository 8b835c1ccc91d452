/* HTTP Basic credential check for the Twilio fake. */
#ifndef FAKE_BASIC_AUTH_H
#define FAKE_BASIC_AUTH_H

#include <stdbool.h>

/* True if header is "Basic base64(user:password)" with exactly these
 * credentials. A NULL header never matches. */
bool basic_auth_matches(const char *header, const char *user, const char *password);

#endif
