/* Milliseconds on the monotonic clock (monotonic_clock.c): for deadlines and
 * pauses inside the edge, never for wall-clock times. */
#ifndef NMC_MONOTONIC_CLOCK_H
#define NMC_MONOTONIC_CLOCK_H

long long monotonic_ms(void);
/* The same with its fraction, for durations (latencies, request times). */
double monotonic_ms_exact(void);

#endif
