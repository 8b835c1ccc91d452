/* Who may hold a connection on the live-feed port: at most a number per
 * client address and a number in all (the HTTP port's caps, counted on their
 * own), so a flood from one address leaves room for every other dashboard.
 * Used only from the feed's service thread: no locking. */
#ifndef NMC_WS_ADMISSION_H
#define NMC_WS_ADMISSION_H

#include <stdbool.h>
#include <sys/socket.h>

struct ws_admission;

struct ws_admission *ws_admission_new(unsigned int total, unsigned int per_client);
void ws_admission_free(struct ws_admission *a);

/* Whether one more connection from addr fits both caps (nothing is counted). */
bool ws_admission_allows(const struct ws_admission *a, const struct sockaddr *addr);
/* Counts a connection from addr, allowed or not (it is already open). */
void ws_admission_count(struct ws_admission *a, const struct sockaddr *addr);
/* The connection counted from addr has closed. */
void ws_admission_release(struct ws_admission *a, const struct sockaddr *addr);

unsigned int ws_admission_open(const struct ws_admission *a);

#endif
