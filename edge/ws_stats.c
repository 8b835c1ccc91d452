/* Relaxed atomics are enough: each counter is read on its own, never as a
 * consistent pair, and nothing else is ordered by them. */
#include "ws_stats.h"

#include <stdatomic.h>

static atomic_uint_fast64_t clients_connected;
static atomic_uint_fast64_t clients_dropped_slow;

void ws_stats_client_opened(void)
{
	atomic_fetch_add_explicit(&clients_connected, 1, memory_order_relaxed);
}

void ws_stats_client_closed(void)
{
	atomic_fetch_sub_explicit(&clients_connected, 1, memory_order_relaxed);
}

void ws_stats_client_dropped_slow(void)
{
	atomic_fetch_add_explicit(&clients_dropped_slow, 1, memory_order_relaxed);
}

uint64_t ws_stats_clients_connected(void)
{
	return atomic_load_explicit(&clients_connected, memory_order_relaxed);
}

uint64_t ws_stats_clients_dropped_slow(void)
{
	return atomic_load_explicit(&clients_dropped_slow, memory_order_relaxed);
}
