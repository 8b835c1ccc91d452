/* /healthz answers from a real round trip through the pool, so it also
 * exercises (and repairs) pooled connections after a database restart. */
#include "health_check.h"

#include "http_response.h"

enum MHD_Result health_check_handle(struct MHD_Connection *conn,
				    struct request_state *rs,
				    struct db_pool *pool)
{
	PGresult *res;
	enum db_outcome outcome = db_pool_exec(pool, "SELECT 1", 0, NULL, NULL, &res);
	PQclear(res);
	if (outcome == DB_OK)
		return http_reply_static_json(conn, rs, MHD_HTTP_OK,
					      "{\"status\":\"ok\"}");
	return http_reply_static_json(conn, rs, MHD_HTTP_SERVICE_UNAVAILABLE,
				      "{\"status\":\"unavailable\"}");
}
