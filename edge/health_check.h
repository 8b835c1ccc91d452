/* GET/HEAD /healthz: reports whether the edge can reach the database, for
 * load balancers and process supervisors. */
#ifndef NMC_HEALTH_CHECK_H
#define NMC_HEALTH_CHECK_H

#include <microhttpd.h>

#include "db_pool.h"
#include "request_state.h"

enum MHD_Result health_check_handle(struct MHD_Connection *conn,
				    struct request_state *rs,
				    struct db_pool *pool);

#endif
