/* A client's IP address as 16 bytes (IPv4 as ::ffff:a.b.c.d), so one
 * comparison serves both families: the key of the per-address tables. */
#ifndef NMC_ADDRESS_KEY_H
#define NMC_ADDRESS_KEY_H

#include <stdbool.h>
#include <sys/socket.h>

/* False for anything but an IPv4 or IPv6 peer. */
bool address_key(const struct sockaddr *sa, unsigned char key[16]);

#endif
