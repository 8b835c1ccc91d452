/* Who sent a request (client_address.c): the socket's peer, or the address a
 * trusted proxy saw; and an address as a table key. */
#ifndef NMC_CLIENT_ADDRESS_H
#define NMC_CLIENT_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

#include <sys/socket.h>

#include <microhttpd.h>

/* The socket peer as numeric text (INET6_ADDRSTRLEN bytes suffice). */
bool peer_address(struct MHD_Connection *conn, char *out, size_t size);

/* The client: when the peer is one of trusted_proxies (comma-separated
 * addresses; NULL or empty: none), the right-most X-Forwarded-For address that
 * is not itself a trusted proxy; otherwise, and whenever that header is absent
 * or malformed, the peer. Anyone else's X-Forwarded-For is ignored. */
bool client_address(struct MHD_Connection *conn, const char *trusted_proxies, char *out, size_t size);

/* The X-Forwarded-For rule without libmicrohttpd, so fuzz/fuzz_edge_request.c
 * runs the same code on arbitrary headers. Whether addr (canonical numeric
 * text) is one of trusted (comma-separated addresses, spaces and tabs around
 * each allowed): */
bool forwarded_is_trusted(const char *addr, const char *trusted);
/* The client behind trusted proxies: out holds the peer on entry and, on
 * return, the right-most address of xff that is not a trusted proxy, in
 * canonical form; it keeps the peer when xff is malformed, all trusted, or
 * that address does not fit in size bytes. The caller has checked that the
 * peer itself is trusted. */
void forwarded_client(const char *xff, const char *trusted, char *out, size_t size);

/* A client's IP address as 16 bytes (IPv4 as ::ffff:a.b.c.d), so one
 * comparison serves both families: the key of the per-address tables.
 * False for anything but an IPv4 or IPv6 peer. */
bool address_key(const struct sockaddr *sa, unsigned char key[16]);

#endif
