/* Translates an HTTP request into one nmc_api.handle(...) call and its
 * result row back into an HTTP response. Parameters always travel as libpq
 * parameters, never spliced into SQL text. Each request commits alone:
 * PostgreSQL's own group commit shares the WAL flush of concurrent commits
 * (docs/performance.md, "Group commit"). */
#include "api_proxy.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_address.h"
#include "http_response.h"
#include "json_text.h"
#include "string_buffer.h"
#include "webhook_spool.h"
#include "ws_feed.h"
#include "event_log.h"

static const char handle_sql[] =
	"SELECT status, content_type, headers, body, body_bytes "
	"FROM nmc_api.handle($1, $2, $3::jsonb, $4::jsonb, $5, $6, $7, $8::jsonb)";
/* PostgreSQL's built-in OID for text (pg_type_d.h is a server header). 0
 * lets the server infer jsonb from the casts for the JSON arguments. */
#define TEXT_OID ((Oid)25)
static const Oid handle_param_types[HANDLE_NPARAMS] = {
	TEXT_OID, TEXT_OID, 0, 0, TEXT_OID, TEXT_OID, TEXT_OID, 0
};

enum db_outcome api_handle_call(struct db_pool *pool, const char *const params[HANDLE_NPARAMS],
				PGresult **result)
{
	return db_pool_exec(pool, handle_sql, HANDLE_NPARAMS, handle_param_types, params, result);
}

static enum MHD_Result add_json_member(void *cls, enum MHD_ValueKind kind,
				       const char *key, const char *value)
{
	(void)kind;
	if (key != NULL)
		json_object_add(cls, key, value);
	return MHD_YES;
}

static bool build_json_object(struct MHD_Connection *conn, enum MHD_ValueKind kind,
			      bool lowercase_keys, struct string_buffer *out)
{
	struct json_object_builder b;
	json_object_begin(&b, lowercase_keys);
	MHD_get_connection_values(conn, kind, add_json_member, &b);
	return json_object_finish(&b, out);
}

/* The edge's own figures the SQL side cannot know (GET /api/status shows
 * them): nmc_api.handle's edge argument, never a request header. */
static bool edge_document(struct string_buffer *out)
{
	char doc[160];
	int n = snprintf(doc, sizeof doc, "{\"ws_clients\":%llu,\"ws_dropped_slow\":%llu,\"spool_waiting\":%llu}",
			 (unsigned long long)ws_feed_clients_connected(),
			 (unsigned long long)ws_feed_clients_dropped_slow(),
			 (unsigned long long)webhook_spool_depth());
	string_buffer_init(out);
	return n > 0 && (size_t)n < sizeof doc && string_buffer_append(out, doc, (size_t)n);
}

/* Applies "Name: value" lines. A line MHD refuses (bad characters, or a
 * header MHD manages itself) is skipped and reported, since it is a bug
 * in the SQL side rather than something the client can fix. */
static void add_sql_headers(struct MHD_Response *resp, const char *lines)
{
	struct string_buffer line;
	string_buffer_init(&line);
	const char *p = lines;
	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		line.len = 0;
		string_buffer_append(&line, p, len);
		p += len + (eol ? 1 : 0);
		if (line.failed)
			break;
		if (line.len > 0 && line.data[line.len - 1] == '\r')
			line.data[--line.len] = '\0';
		if (line.len == 0)
			continue;

		char *colon = strchr(line.data, ':');
		if (colon == NULL || colon == line.data) {
			log_error("nmc_api.handle returned a malformed header line");
			continue;
		}
		*colon = '\0';
		char *value = colon + 1;
		while (*value == ' ' || *value == '\t')
			value++;
		char *value_end = value + strlen(value);
		while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t'))
			*--value_end = '\0';
		if (MHD_add_response_header(resp, line.data, value) != MHD_YES)
			log_error("could not add response header \"%s\" from nmc_api.handle",
				line.data);
	}
	string_buffer_free(&line);
}

static void log_sql_error(const PGresult *res)
{
	/* SQLSTATE and primary message only: DETAIL and CONTEXT can quote
	 * parameter values, which may be credentials or personal data. */
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	log_error("nmc_api.handle failed: %s %s",
		state ? state : "-----", msg ? msg : PQresStatus(PQresultStatus(res)));
}

static enum MHD_Result reply_internal_error(struct MHD_Connection *conn,
					    struct request_state *rs)
{
	return http_reply_error(conn, rs, MHD_HTTP_INTERNAL_SERVER_ERROR,
				"internal_error", "internal error");
}

/* Turns the single result row into the response. Anything off-contract is
 * treated as a server bug (500), never passed on half-formed. */
static enum MHD_Result reply_from_row(struct MHD_Connection *conn,
				      struct request_state *rs, PGresult *res)
{
	/* The fifth column, body_bytes, is a binary body (a kept recording or photo). */
	if (PQntuples(res) != 1 || PQnfields(res) != 5 || PQgetisnull(res, 0, 0)) {
		log_error("nmc_api.handle returned %d rows, %d columns (expected 1 row with a status)",
			PQntuples(res), PQnfields(res));
		return reply_internal_error(conn, rs);
	}
	char *end;
	long status = strtol(PQgetvalue(res, 0, 0), &end, 10);
	if (*end != '\0' || status < 100 || status > 599) {
		log_error("nmc_api.handle returned an invalid status");
		return reply_internal_error(conn, rs);
	}

	struct MHD_Response *resp;
	size_t body_len;
	if (!PQgetisnull(res, 0, 4)) {
		/* bytea in text form ("\\x…"), decoded by libpq. */
		unsigned char *bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 4), &body_len);
		if (bytes == NULL) {
			log_error("nmc_api.handle returned a binary body that could not be decoded");
			return reply_internal_error(conn, rs);
		}
		resp = MHD_create_response_from_buffer(body_len, bytes, MHD_RESPMEM_MUST_COPY);
		PQfreemem(bytes);
	} else {
		body_len = PQgetisnull(res, 0, 3) ? 0 : (size_t)PQgetlength(res, 0, 3);
		resp = MHD_create_response_from_buffer(body_len, PQgetvalue(res, 0, 3), MHD_RESPMEM_MUST_COPY);
	}
	if (resp == NULL)
		return MHD_NO;
	if (!PQgetisnull(res, 0, 1) &&
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				    PQgetvalue(res, 0, 1)) != MHD_YES)
		log_error("nmc_api.handle returned an unusable content type");
	if (!PQgetisnull(res, 0, 2))
		add_sql_headers(resp, PQgetvalue(res, 0, 2));
	return http_reply(conn, rs, (unsigned int)status, resp, body_len);
}

/* A webhook the database accepted (2xx: the signature held) marks its
 * sender's address. */
static void note_webhook_sender(struct MHD_Connection *conn, struct http_admission *admission,
				PGresult *res)
{
	if (PQntuples(res) != 1 || PQnfields(res) < 1 || PQgetisnull(res, 0, 0))
		return;
	long status = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	if (status < 200 || status > 299)
		return;
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (info != NULL)
		http_admission_note_sender(admission, info->client_addr);
}

/* The database is down: a webhook the spool can answer for is kept on disk
 * and answered as the database said it may be; anything else is 503. */
static enum MHD_Result reply_unavailable(struct MHD_Connection *conn, struct request_state *rs,
					 const char *const params[HANDLE_NPARAMS])
{
	char *content_type = NULL, *answer = NULL;
	if (webhook_spool_answer(params[HANDLE_PATH], params[HANDLE_BODY], &content_type, &answer) &&
	    webhook_spool_put(params)) {
		struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(answer), answer, MHD_RESPMEM_MUST_COPY);
		enum MHD_Result ret = MHD_NO;
		if (resp != NULL) {
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
			ret = http_reply(conn, rs, MHD_HTTP_OK, resp, strlen(answer));
		}
		free(content_type);
		free(answer);
		return ret;
	}
	free(content_type);
	free(answer);
	return http_reply_error(conn, rs, MHD_HTTP_SERVICE_UNAVAILABLE, "database_unavailable",
				"the database is not reachable; try again shortly");
}

enum MHD_Result api_proxy_handle(struct MHD_Connection *conn,
				 struct request_state *rs, struct db_pool *pool,
				 const char *method, const char *path, const struct edge_config *cfg,
				 struct http_admission *admission)
{
	if (!utf8_is_valid_text(method, strlen(method)))
		return http_reply_error(conn, rs, MHD_HTTP_BAD_REQUEST, "bad_request",
					"the request method must be UTF-8 text");
	if (!utf8_is_valid_text(path, strlen(path)))
		return http_reply_error(conn, rs, MHD_HTTP_BAD_REQUEST, "bad_path",
					"the request path must be UTF-8 text");
	if (!utf8_is_valid_text(rs->body.data, rs->body.len))
		return http_reply_error(conn, rs, MHD_HTTP_BAD_REQUEST, "invalid_body",
					"request body must be UTF-8 text");
	if (rs->raw_query != NULL && !utf8_is_valid_text(rs->raw_query, strlen(rs->raw_query)))
		return http_reply_error(conn, rs, MHD_HTTP_BAD_REQUEST, "bad_path",
					"the query string must be UTF-8 text");

	struct string_buffer query, headers, edge;
	bool built = build_json_object(conn, MHD_GET_ARGUMENT_KIND, false, &query);
	built = build_json_object(conn, MHD_HEADER_KIND, true, &headers) && built;
	built = edge_document(&edge) && built;
	if (!built) {
		string_buffer_free(&query);
		string_buffer_free(&headers);
		string_buffer_free(&edge);
		return MHD_NO;
	}

	char addr[INET6_ADDRSTRLEN];
	bool have_addr = client_address(conn, cfg->trusted_proxies, addr, sizeof addr);

	const char *params[HANDLE_NPARAMS] = {
		[HANDLE_METHOD] = method,
		[HANDLE_PATH] = path,
		[HANDLE_QUERY] = query.data,
		[HANDLE_HEADERS] = headers.data,
		[HANDLE_CLIENT_ADDR] = have_addr ? addr : NULL,
		[HANDLE_BODY] = rs->body.len > 0 ? rs->body.data : NULL,
		[HANDLE_RAW_QUERY] = rs->raw_query,
		[HANDLE_EDGE] = edge.data,
	};
	PGresult *res;
	enum db_outcome outcome = api_handle_call(pool, params, &res);
	if (outcome == DB_OK && strncmp(path, "/webhooks/", 10) == 0)
		note_webhook_sender(conn, admission, res);

	enum MHD_Result ret;
	switch (outcome) {
	case DB_OK:
		ret = reply_from_row(conn, rs, res);
		break;
	case DB_QUERY_ERROR:
		log_sql_error(res);
		ret = reply_internal_error(conn, rs);
		break;
	case DB_UNAVAILABLE:
	default:
		ret = reply_unavailable(conn, rs, params);
		break;
	}
	/* Only now: the spool may have written params (query, headers) to disk. */
	string_buffer_free(&query);
	string_buffer_free(&headers);
	string_buffer_free(&edge);
	PQclear(res);
	return ret;
}
