/* The addresses Twilio's webhooks came from lately (a webhook route the
 * database answered 2xx, so its signature held): when the HTTP port is nearly
 * full, the last connections are kept for them (http_server.c). */
#ifndef NMC_WEBHOOK_SENDERS_H
#define NMC_WEBHOOK_SENDERS_H

#include <stdbool.h>
#include <sys/socket.h>

struct webhook_senders;

struct webhook_senders *webhook_senders_new(void);
void webhook_senders_free(struct webhook_senders *ws);

/* A signed webhook from sa was accepted now. Thread-safe. */
void webhook_senders_note(struct webhook_senders *ws, const struct sockaddr *sa);
/* Whether sa sent an accepted webhook within the last window_ms. Thread-safe. */
bool webhook_senders_recent(struct webhook_senders *ws, const struct sockaddr *sa, long long window_ms);

#endif
