/* Who sent a request (client_address.c): the socket's peer, or the address a
 * trusted proxy saw. */
#ifndef NMC_CLIENT_ADDRESS_H
#define NMC_CLIENT_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

/* The socket peer as numeric text (INET6_ADDRSTRLEN bytes suffice). */
bool peer_address(struct MHD_Connection *conn, char *out, size_t size);

/* The client: when the peer is one of trusted_proxies (comma-separated
 * addresses; NULL or empty: none), the right-most X-Forwarded-For address that
 * is not itself a trusted proxy; otherwise, and whenever that header is absent
 * or malformed, the peer. Anyone else's X-Forwarded-For is ignored. */
bool client_address(struct MHD_Connection *conn, const char *trusted_proxies, char *out, size_t size);

#endif
