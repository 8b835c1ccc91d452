/* client_address.c — the client address the SQL side sees (login and sign-up
 * throttling count by it): the socket peer, or, behind a proxy the operator
 * named in NMC_TRUSTED_PROXIES, the address that proxy reports in
 * X-Forwarded-For. A client cannot choose its own address by sending the
 * header: only a trusted peer's header is read, right to left, each hop a
 * numeric address in canonical form, trusted proxies skipped, anything
 * malformed ending the walk with the peer kept. */
#include "client_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_ADDR_TEXT 64

/* text[0..len) as a canonical numeric address in out; false if it is none. */
static bool canonical(const char *text, size_t len, char *out, size_t size)
{
	char buf[MAX_ADDR_TEXT];
	unsigned char bin[sizeof(struct in6_addr)];
	while (len > 0 && (*text == ' ' || *text == '\t')) { text++; len--; }
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t')) len--;
	if (len == 0 || len >= sizeof buf)
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, bin) == 1)
		return inet_ntop(AF_INET, bin, out, (socklen_t)size) != NULL;
	if (inet_pton(AF_INET6, buf, bin) == 1)
		return inet_ntop(AF_INET6, bin, out, (socklen_t)size) != NULL;
	return false;
}

bool forwarded_is_trusted(const char *addr, const char *trusted)
{
	for (const char *p = trusted; p != NULL && *p != '\0';) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char entry[MAX_ADDR_TEXT];
		if (canonical(p, len, entry, sizeof entry) && strcmp(entry, addr) == 0)
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

void forwarded_client(const char *xff, const char *trusted, char *out, size_t size)
{
	/* Right to left: each proxy appends the address it saw. */
	size_t end = strlen(xff);
	while (end > 0) {
		size_t start = end;
		while (start > 0 && xff[start - 1] != ',')
			start--;
		char hop[MAX_ADDR_TEXT];
		if (!canonical(xff + start, end - start, hop, sizeof hop))
			return;    /* malformed: keep the peer */
		if (!forwarded_is_trusted(hop, trusted)) {
			if (strlen(hop) < size)
				strcpy(out, hop);
			return;
		}
		end = start > 0 ? start - 1 : 0;
	}
}

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

bool address_key(const struct sockaddr *sa, unsigned char key[16])
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		memcpy(key, mapped, 12);
		memcpy(key + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}
