/* The X-Forwarded-For rule of client_address.c without libmicrohttpd, so
 * fuzz/fuzz_edge_request.c runs the same code on arbitrary headers. */
#ifndef NMC_FORWARDED_FOR_H
#define NMC_FORWARDED_FOR_H

#include <stdbool.h>
#include <stddef.h>

/* Whether addr (canonical numeric text) is one of trusted (comma-separated
 * addresses, spaces and tabs around each allowed). */
bool forwarded_is_trusted(const char *addr, const char *trusted);

/* The client behind trusted proxies: out holds the peer on entry and, on
 * return, the right-most address of xff that is not a trusted proxy, in
 * canonical form; it keeps the peer when xff is malformed, all trusted, or
 * that address does not fit in size bytes. The caller has checked that the
 * peer itself is trusted. */
void forwarded_client(const char *xff, const char *trusted, char *out, size_t size);

#endif
