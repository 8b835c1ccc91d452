/* Counters of the live feed, written by the WebSocket thread and readable
 * from any thread (a later /metrics endpoint), hence atomics. */
#ifndef NMC_WS_STATS_H
#define NMC_WS_STATS_H

#include <stdint.h>

void ws_stats_client_opened(void);
void ws_stats_client_closed(void);
void ws_stats_client_dropped_slow(void);

uint64_t ws_stats_clients_connected(void);
uint64_t ws_stats_clients_dropped_slow(void);

#endif
