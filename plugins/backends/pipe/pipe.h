/* SPDX-License-Identifier: MIT */
/* The pipe backend's private state, shared by pipe.c (rendezvous, the worker
 * running the TX engine, ring passthrough) and pkt_io.c (packet I/O). */
#ifndef PIPE_PIPE_H
#define PIPE_PIPE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <modvmm/net.h>
#include <modvmm/plugin.h>

#include "net_stats.h"
#include <modvmm-netmap/nmport.h>
#include "pt_engine.h"

/* Packet I/O: the backend is the user of ring pair 0 of its end. */
struct modvmm_net_queue {
	struct pipe_be *p;
	int tx_kick, tx_irq;            /* the engine's doorbell / TX completions */
	int rx_irq, rx_kick;            /* the peer fills RX / we released RX room */
	struct nm_uring tx, rx;         /* TX: the frontend's TX thread; RX: its RX thread */
	unsigned hdr_len;               /* vnet header leading frames (stripped, added) */
	uint32_t rx_unpub;              /* RX slots consumed and not yet published */
	struct net_queue_stats st;
};

#define MAX_PT_RINGS (2 * NMPORT_MAX_RINGS) /* device ring numbers r < this */
#define PIPE_SWITCH_NAME_MAX 32 /* as modvmm-switch's names */
#define PIPE_SWITCH_RINGS 1u    /* ring pairs of a switch port (tools/switch/fwd.h SW_PORT_RINGS) */

struct pipe_be {
	const struct modvmm_host *host;
	struct modvmm_dev *dev;
	char name[NMPORT_NAME_MAX];     /* the pipe: SWITCH.NAME on a switch */
	char switch_name[PIPE_SWITCH_NAME_MAX]; /* `switch`: empty for a plain pipe */
	int want_end;                   /* -1: auto */
	struct nmport_geom geom;
	uint64_t busy_poll_ns;
	bool peer_pull;                 /* offer the TX rings' engine to a peer that wants it */
	bool attached, pt_started, threads;
	struct nmport_rdv *rdv;
	struct nmport_region *reg;
	unsigned end;
	int kick_fds[MAX_PT_RINGS], irq_fds[MAX_PT_RINGS]; /* the device's, by ring number */
	int stop_fd;                    /* ours: stops both threads */
	int link_fd;                    /* ours: the control thread wakes the worker */
	int fe_link_fd;                 /* the frontend's (ops link_fd): written on each change */
	atomic_bool up;                 /* what LINK reports */
	/* link state handed from the control thread to the worker */
	pthread_mutex_t lock;
	pthread_cond_t applied_cond;
	unsigned gen;                   /* bumped at every change */
	unsigned applied;               /* the gen the worker runs with */
	bool worker_gone;               /* the worker returned: nobody applies */
	bool pend_up;
	uint32_t pend_pulled;           /* TX rings the peer pulls (nmport_rdv_pulled) */
	int pend_irq[NMPORT_MAX_RINGS], pend_kick[NMPORT_MAX_RINGS]; /* dups, owned */
	struct pt_engine eng;           /* the worker's */
	_Atomic uint64_t st_delivered, st_dropped, st_irqs, st_sleeps;
	bool io;                        /* packet I/O mode (q is live) */
	bool bad_logged;                /* refused ring values were reported */
	struct modvmm_net_queue q;
};

/* pipe.c: rendezvous with the given device ring fds and build the engine. */
int pipe_pt_begin(struct pipe_be *p, const struct modvmm_net_pt_cfg *cfg);

/* switch.c: `switch = NAME` */
bool pipe_switch_name_ok(const char *sw);
/* Start switch NAME unless it runs.  0 or -errno (logged). */
int pipe_switch_ensure(struct pipe_be *p);

/* pkt_io.c */
void pipe_io_init(struct pipe_be *p);
int pipe_io_start(struct pipe_be *p);
void pipe_io_close(struct pipe_be *p);
void pipe_io_stats(struct pipe_be *p, struct modvmm_net_stats *out);
int pipe_set_vnet_hdr_len(void *be, unsigned len);
struct modvmm_net_queue *pipe_queue(void *be, unsigned idx);
int pipe_send(struct modvmm_net_queue *q, const struct modvmm_net_pkt *pkts, unsigned n);
int pipe_tx_fd(struct modvmm_net_queue *q, short *events);
ssize_t pipe_peek_len(struct modvmm_net_queue *q);
ssize_t pipe_recv(struct modvmm_net_queue *q, const struct iovec *iov, unsigned iovcnt);
int pipe_rx_fd(struct modvmm_net_queue *q);

#endif
