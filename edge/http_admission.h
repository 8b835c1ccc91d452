/* How many connections the HTTP port holds, and whether one more may come
 * in (http_admission.c). */
#ifndef NMC_HTTP_ADMISSION_H
#define NMC_HTTP_ADMISSION_H

#include <stdbool.h>

struct http_admission;

/* max: the whole cap; reserve: its last places, kept for Twilio's addresses. */
struct http_admission *http_admission_new(unsigned int max, unsigned int reserve);
void http_admission_free(struct http_admission *a);

/* Before MHD accepts a connection: true takes a place (twilio_sender: the
 * address sent Twilio's webhooks lately, so the reserve is open to it). */
bool http_admission_take(struct http_admission *a, bool twilio_sender);
/* MHD started the connection a take let in / closed a started one. */
void http_admission_started(struct http_admission *a);
void http_admission_closed(struct http_admission *a);

#endif
