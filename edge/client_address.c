/* client_address.c — the client address the SQL side sees (login and sign-up
 * throttling count by it): the socket peer, or, behind a proxy the operator
 * named in NMC_TRUSTED_PROXIES, the address that proxy reports in
 * X-Forwarded-For. A client cannot choose its own address by sending the
 * header: only a trusted peer's header is read (forwarded_for.c). */
#include "client_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "forwarded_for.h"

bool peer_address(struct MHD_Connection *conn, char *out, size_t size)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (info == NULL || info->client_addr == NULL)
		return false;
	const struct sockaddr *sa = info->client_addr;
	if (sa->sa_family == AF_INET)
		return inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)size) != NULL;
	if (sa->sa_family == AF_INET6)
		return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)size) != NULL;
	return false;
}

bool client_address(struct MHD_Connection *conn, const char *trusted_proxies, char *out, size_t size)
{
	if (!peer_address(conn, out, size))
		return false;
	if (trusted_proxies == NULL || trusted_proxies[0] == '\0' || !forwarded_is_trusted(out, trusted_proxies))
		return true;
	const char *xff = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For");
	if (xff == NULL)
		return true;
	forwarded_client(xff, trusted_proxies, out, size);
	return true;
}
