/* forwarded_for.c — reading X-Forwarded-For (forwarded_for.h): right to
 * left, each hop a numeric address in canonical form, trusted proxies
 * skipped, anything malformed ending the walk with the peer kept. */
#include "forwarded_for.h"

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
