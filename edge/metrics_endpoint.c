/* metrics_endpoint.c — GET /metrics (metrics_endpoint.h): who may read it,
 * then the edge's figures (metrics.c) and the database's (nmc_api.metrics). */
#include "metrics_endpoint.h"

#include <arpa/inet.h>
#include <string.h>

#include "client_address.h"
#include "http_response.h"
#include "metrics.h"

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

static bool allowed(struct MHD_Connection *conn, const char *token)
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

enum MHD_Result metrics_endpoint_handle(struct MHD_Connection *conn, struct request_state *rs,
					struct db_pool *pool, const char *token)
{
	if (!allowed(conn, token))
		return http_reply_error(conn, rs, MHD_HTTP_FORBIDDEN, "metrics_forbidden",
					"GET /metrics needs Authorization: Bearer <NMC_METRICS_TOKEN>, or a client on this machine that is not proxied");
	struct string_buffer sb;
	string_buffer_init(&sb);
	metrics_render(&sb);
	PGresult *res;
	enum db_outcome outcome = db_pool_exec(pool, "SELECT nmc_api.metrics()", 0, NULL, NULL, &res);
	if (outcome == DB_OK && PQntuples(res) == 1)
		string_buffer_append_str(&sb, PQgetvalue(res, 0, 0));
	string_buffer_append_str(&sb, "# HELP nmc_database_up Whether the edge reached the database for this scrape.\n"
				 "# TYPE nmc_database_up gauge\nnmc_database_up ");
	string_buffer_append_str(&sb, outcome == DB_OK ? "1\n" : "0\n");
	PQclear(res);
	if (sb.failed) {
		string_buffer_free(&sb);
		return http_reply_error(conn, rs, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal_error", "out of memory");
	}
	size_t bytes = sb.len;
	struct MHD_Response *resp = MHD_create_response_from_buffer(sb.len, sb.data, MHD_RESPMEM_MUST_COPY);
	string_buffer_free(&sb);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
	return http_reply(conn, rs, MHD_HTTP_OK, resp, bytes);
}
