/* Common response path. Funnelling every reply through http_reply keeps
 * the nosniff header and the logged status from being forgotten on some
 * rarely used branch. */
#include "http_response.h"

#include <string.h>

#include "json_text.h"
#include "string_buffer.h"

enum MHD_Result http_reply(struct MHD_Connection *conn, struct request_state *rs,
			   unsigned int status, struct MHD_Response *resp,
			   uint64_t body_bytes)
{
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	enum MHD_Result ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	if (ret == MHD_YES && rs != NULL) {
		rs->status = status;
		rs->body_bytes = body_bytes;
	}
	return ret;
}

enum MHD_Result http_reply_static_json(struct MHD_Connection *conn,
				       struct request_state *rs,
				       unsigned int status, const char *json)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		strlen(json), (void *)json, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"application/json");
	return http_reply(conn, rs, status, resp, strlen(json));
}

struct MHD_Response *http_error_response(const char *code, const char *message, size_t *bytes)
{
	struct string_buffer sb;
	string_buffer_init(&sb);
	if (!json_error_append(&sb, code, message)) {
		string_buffer_free(&sb);
		return NULL;
	}
	*bytes = sb.len;
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		sb.len, sb.data, MHD_RESPMEM_MUST_COPY);
	string_buffer_free(&sb);
	if (resp != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					"application/json");
	return resp;
}

enum MHD_Result http_reply_error(struct MHD_Connection *conn,
				 struct request_state *rs, unsigned int status,
				 const char *code, const char *message)
{
	size_t bytes = 0;
	struct MHD_Response *resp = http_error_response(code, message, &bytes);
	return http_reply(conn, rs, status, resp, bytes);
}
