/* metrics_access.c — the access rule of GET /metrics (metrics_access.h),
 * checked by http_server.c before metrics.c renders anything. */
#include "metrics_access.h"

#include <arpa/inet.h>
#include <string.h>

#include "client_address.h"

#define BEARER "Bearer "

/* Compares every byte whatever the first difference: the time taken does not
 * tell a guesser how much of the token was right. */
static bool same_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = (unsigned char)(la != lb);
	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)(i < lb ? b[i] : 0);
	return diff == 0;
}

static bool from_loopback(struct MHD_Connection *conn)
{
	char addr[INET6_ADDRSTRLEN];
	if (!peer_address(conn, addr, sizeof addr))
		return false;
	/* 127.0.0.0/8, ::1, or an IPv4 loopback client on a dual-stack socket */
	return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 || strncmp(addr, "::ffff:127.", 11) == 0;
}

bool metrics_access_allowed(struct MHD_Connection *conn, const char *token)
{
	if (token != NULL && token[0] != '\0') {
		const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
		return auth != NULL && strncmp(auth, BEARER, strlen(BEARER)) == 0 &&
		       same_secret(auth + strlen(BEARER), token);
	}
	return from_loopback(conn) &&
	       MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For") == NULL &&
	       MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Forwarded") == NULL;
}
