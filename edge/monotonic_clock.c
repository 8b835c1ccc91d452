/* monotonic_clock.c — the edge's one reading of CLOCK_MONOTONIC in whole
 * milliseconds (head deadlines, admission, the spool's refresh),
 * or exactly (request durations, the feed's NOTIFY-to-send latency). */
#include "monotonic_clock.h"

#include <time.h>

long long monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double monotonic_ms_exact(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}
