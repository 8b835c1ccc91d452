/* Milliseconds on the monotonic clock (monotonic_clock.c): for deadlines and
 * pauses inside the edge, never for wall-clock times. */
#ifndef NMC_MONOTONIC_CLOCK_H
#define NMC_MONOTONIC_CLOCK_H

long long monotonic_ms(void);

#endif
