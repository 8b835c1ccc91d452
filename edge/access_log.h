/* One JSON line per HTTP request on stdout (access_log.c). Deliberately
 * records only the time, method, path, status, duration, body size and
 * client address: query strings, headers and bodies may carry credentials
 * and must never reach the log. */
#ifndef NMC_ACCESS_LOG_H
#define NMC_ACCESS_LOG_H

#include "request_state.h"

/* Called once per request, at completion (http_server.c). */
void access_log_write(const struct request_state *rs, double duration_ms);

#endif
