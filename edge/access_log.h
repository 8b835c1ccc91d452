/* One line per HTTP request on stdout. Deliberately records only the
 * method, path, status and duration: query strings, headers and bodies
 * may carry credentials and must never reach the log. */
#ifndef NMC_ACCESS_LOG_H
#define NMC_ACCESS_LOG_H

#include <time.h>

void access_log_write(const struct timespec *started_wall, const char *method,
		      const char *path, unsigned int status, double duration_ms);

#endif
