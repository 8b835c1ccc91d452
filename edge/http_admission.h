/* How many connections the HTTP port holds, whether one more may come in,
 * and the addresses Twilio's webhooks came from lately (a webhook route the
 * database answered 2xx, so its signature held), for which the last places
 * are kept (http_admission.c). Thread-safe. */
#ifndef NMC_HTTP_ADMISSION_H
#define NMC_HTTP_ADMISSION_H

#include <stdbool.h>
#include <sys/socket.h>

struct http_admission;

/* max: the whole cap; reserve: its last places, kept for Twilio's addresses. */
struct http_admission *http_admission_new(unsigned int max, unsigned int reserve);
void http_admission_free(struct http_admission *a);

/* Before MHD accepts a connection from addr: true takes a place (the reserve
 * is open to an address that sent an accepted webhook within the hour). */
bool http_admission_take(struct http_admission *a, const struct sockaddr *addr);
/* MHD started the connection a take let in / closed a started one. */
void http_admission_started(struct http_admission *a);
void http_admission_closed(struct http_admission *a);

/* A signed webhook from addr was accepted now. */
void http_admission_note_sender(struct http_admission *a, const struct sockaddr *addr);

#endif
