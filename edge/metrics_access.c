/* metrics_access.c — the access rule of GET /metrics (metrics_access.h),
 * checked by http_server.c before metrics.c renders anything. */
#include "metrics_access.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

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
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (info == NULL || info->client_addr == NULL)
		return false;
	const struct sockaddr *sa = info->client_addr;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		/* ::ffff:127.x.y.z, an IPv4 client on a dual-stack socket */
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
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
