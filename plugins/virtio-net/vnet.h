/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (virtio 1.2 §5.1) on the modern PCI transport, internal interfaces.
 *
 *   vnet_dev.c     the plugin: keys, features, device configuration, life cycle
 *   vnet_ctrl.c    the control queue (RX mode, MAC filter, MAC address, MQ)
 *   vnet_worker.c  one thread per queue pair: TX, RX, notifications
 *   virtio_pci.c   the transport;  virtqueue.c  split rings
 *
 * Queues: receiveq k = 2k, transmitq k = 2k + 1, controlq = 2 * max_pairs.
 *
 * Workers and the transport: a worker only touches its two queues and the
 * backend queue, and only while it is not paused.  The transport pauses every
 * worker (vnet_quiesce) before a reset, a late queue enable or a change of the
 * active pairs, and the workers pick up the new state when resumed.
 */
#ifndef VNET_H
#define VNET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <modvmm/net.h>
#include <modvmm/plugin.h>

#include "virtio_pci.h"
#include "virtqueue.h"

#define VNET_MAX_PAIRS 8
#define VNET_MAX_QUEUES (2 * VNET_MAX_PAIRS + 1)
#define VNET_HDR_LEN MODVMM_NET_HDR_LEN  /* VERSION_1: always the 12-byte header (§5.1.6) */
#define VNET_TX_BATCH 64
#define VNET_RX_BATCH 64
#define VNET_RX_STASH 64                 /* popped RX chains kept for the next frames */
#define VNET_RX_IOV 256                  /* iovecs of one merged RX frame */
#define VNET_MAC_TABLE 64                /* unicast + multicast filter entries */
#define VNET_CTRL_MAX 4096               /* bytes of one control command */

struct vnet;

/* RX filtering state set by the control queue (§5.1.6.5.1, §5.1.6.5.2). */
struct vnet_filter {
	bool promisc, allmulti;
	bool alluni, multi_overflow;      /* the driver's table did not fit */
	unsigned n_uni, n_multi;
	uint8_t mac[ETH_ALEN];            /* the device's own address */
	uint8_t table[VNET_MAC_TABLE][ETH_ALEN]; /* unicast entries first */
};

struct vnet_stats {
	_Atomic uint64_t tx_packets, tx_dropped, tx_kicks, tx_irqs;
	_Atomic uint64_t rx_packets, rx_dropped, rx_filtered, rx_kicks, rx_irqs;
	_Atomic uint64_t wakeups;
};

struct vnet_pair {
	struct vnet *n;
	unsigned idx;
	char name[16];
	struct vq *rx, *tx;
	unsigned rxq, txq;               /* queue numbers */
	struct modvmm_net_queue *bq;
	int wake_efd;                    /* eventfd: pause/stop requests */
	int cpu;                         /* host CPU to pin to, -1: none */
	atomic_bool pause;
	bool parked, running;            /* under n->wlock */

	/* taken at resume, under n->wlock */
	bool tx_ok, rx_ok;               /* queue enabled and mapped */
	bool active;                     /* pair < active pairs: receives */
	bool mrg, csum, gso;             /* negotiated features the data path needs */
	uint64_t tx_gso_ok;              /* MODVMM_NET_OFF_* the driver may send */
	int tx_kick, rx_kick;

	/* TX: chains popped but not yet consumed by the backend */
	struct vq_elem *txe;
	unsigned ntx;
	bool tx_blocked;                 /* backend said -EAGAIN */

	/* RX: popped chains not used yet (a ring) */
	struct vq_elem *rxe;
	unsigned rx_head, rx_count;
	bool rx_no_bufs;                 /* the driver's ring is empty */
	struct iovec *rx_iov;            /* VNET_RX_IOV entries */

	unsigned filter_gen;
	struct vnet_filter filter;
	unsigned epoch;                  /* n->epoch when last resumed */
	struct vnet_stats st;
};

struct vnet {
	const struct modvmm_host *host;
	struct modvmm_dev *dev;
	struct modvmm_net_backend be;
	uint64_t be_caps;
	struct vpci pci;
	bool pci_ok;
	bool attached;                   /* to the backend */
	unsigned max_pairs;
	unsigned nqueues;
	uint16_t qsize;
	uint16_t mtu;
	uint8_t mac[ETH_ALEN];           /* current (MAC_ADDR_SET may change it) */
	uint8_t mac_default[ETH_ALEN];   /* from the configuration; restored at reset */
	bool offer_mrg, offer_event_idx, offer_indirect, offer_offloads;
	unsigned poll_us;                /* busy-poll before sleeping */
	uint64_t offered;
	struct vq vqs[VNET_MAX_QUEUES];
	struct vq *vqp[VNET_MAX_QUEUES];
	struct vnet_pair pairs[VNET_MAX_PAIRS];

	/* control queue state (event loop, under pci.lock) */
	unsigned active_pairs;
	pthread_mutex_t flock;           /* guards filter and filter_gen */
	struct vnet_filter filter;
	_Atomic unsigned filter_gen;

	/* worker control */
	pthread_mutex_t wlock;
	pthread_cond_t wcond;
	bool live;                       /* DRIVER_OK and not paused */
	unsigned epoch;                  /* DRIVER_OK count: a new driver session */
	bool stopping;
	bool started;

	uint32_t offload_vqs;            /* queues handed to an offloading backend (vnet_offload.c) */

	/* link changes (vnet_ctrl.c, event loop) */
	int link_fd;                     /* the backend's link_fd(), -1: its link never changes */
	bool link_watched;
	bool link_last;                  /* the link state last seen */
	_Atomic uint64_t link_irqs;      /* configuration interrupts raised for link changes */

	/* backend swap (vnet_swap.c, main thread) */
	atomic_bool link_forced_down;    /* STATUS reads "down" while the backend changes */
	bool link_down_seen;             /* the driver read STATUS meanwhile (under wlock) */
	_Atomic uint64_t swaps, swap_failures;
};

#define vnet_log(n, lvl, ...) ((n)->host->log((n)->dev, (lvl), __VA_ARGS__))

/* vnet_worker.c */
int vnet_workers_init(struct vnet *n);          /* allocate per-pair state */
int vnet_workers_start(struct vnet *n);         /* threads (parked until DRIVER_OK) */
void vnet_workers_stop(struct vnet *n);         /* make them return */
void vnet_workers_free(struct vnet *n);
void vnet_quiesce(struct vnet *n);              /* park every worker, wait */
void vnet_resume(struct vnet *n);               /* let them go with the current state */
bool vnet_filter_accept(const struct vnet_filter *f, const uint8_t *dst);

/* vnet_offload.c: queues served by a MODVMM_NET_CAP_VQ_OFFLOAD backend (config thread) */
bool vnet_offloaded(const struct vnet *n);
bool vnet_offload_ok(const struct vnet *n);
uint64_t vnet_offload_features(const struct vnet *n, uint64_t offered);
int vnet_offload_start(struct vnet *n);        /* DRIVER_OK */
void vnet_offload_resume(struct vnet *n);      /* a queue enabled after DRIVER_OK */
void vnet_offload_stop(struct vnet *n);        /* reset */

/* vnet_dev.c */
uint64_t vnet_guest_offloads(const struct vpci *v);  /* MODVMM_NET_OFF_* the driver receives */

/* vnet_swap.c: the control socket's statistics and the `swap` command */
void vnet_stats(void *priv, modvmm_stat_fn emit, void *ctx);
extern const struct modvmm_command vnet_commands[];
void vnet_swap_link_seen(struct vnet *n);       /* the driver read STATUS while forced down (vCPU) */

/* vnet_ctrl.c */
void vnet_ctrl_kick(void *opaque, int fd, uint32_t events);  /* event loop */
/* Watch the backend's link_fd (create); stop watching (stop, destroy). */
int vnet_link_watch(struct vnet *n);
void vnet_link_unwatch(struct vnet *n);
void vnet_filter_reset(struct vnet *n);
/* The active pairs changed (or DRIVER_OK): tell the backend which queues to use. */
void vnet_apply_pairs(struct vnet *n);

#endif
