/* SPDX-License-Identifier: MIT */
/*
 * Internal (not installed): per-queue packet counters of the net backends and
 * the sum their stats() op reports (struct modvmm_net_stats, <modvmm/net.h>).
 */
#ifndef MODVMM_NET_STATS_H
#define MODVMM_NET_STATS_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include <modvmm/net.h>

/* Add n to a counter that has one writer (a queue side or a worker): a relaxed
 * load and store, no locked instruction per frame. */
#define STAT_ADD(ctr, n) \
	atomic_store_explicit((ctr), atomic_load_explicit((ctr), memory_order_relaxed) + (n), memory_order_relaxed)

/* One queue pair's counters (meanings as in struct modvmm_net_stats). */
struct net_queue_stats {
	_Atomic uint64_t tx_packets, tx_bytes, tx_dropped, tx_full;
	_Atomic uint64_t rx_packets, rx_bytes, rx_dropped;
};

/* True when queue i is one that a stats(be, q, ...) call asks for. */
static inline int net_stats_wanted(int q, unsigned i)
{
	return q == MODVMM_NET_ALL_QUEUES || (unsigned)q == i;
}

/* Add one queue's counters to *sum. */
static inline void net_stats_add(struct modvmm_net_stats *sum, const struct net_queue_stats *q)
{
	sum->tx_packets += atomic_load_explicit(&q->tx_packets, memory_order_relaxed);
	sum->tx_bytes += atomic_load_explicit(&q->tx_bytes, memory_order_relaxed);
	sum->tx_dropped += atomic_load_explicit(&q->tx_dropped, memory_order_relaxed);
	sum->tx_full += atomic_load_explicit(&q->tx_full, memory_order_relaxed);
	sum->rx_packets += atomic_load_explicit(&q->rx_packets, memory_order_relaxed);
	sum->rx_bytes += atomic_load_explicit(&q->rx_bytes, memory_order_relaxed);
	sum->rx_dropped += atomic_load_explicit(&q->rx_dropped, memory_order_relaxed);
}

/* Hand *sum to the caller of stats(): at most out->size bytes, out->size kept. */
static inline void net_stats_out(struct modvmm_net_stats *out, struct modvmm_net_stats *sum)
{
	sum->size = out->size;
	memcpy(out, sum, out->size < sizeof(*sum) ? out->size : sizeof(*sum));
}

#endif /* MODVMM_NET_STATS_H */
