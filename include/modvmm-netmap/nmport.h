/* SPDX-License-Identifier: MIT */
/*
 * libmodvmm-nmport: host-side netmap-style ports (see <modvmm-netmap/netmap_port.h>
 * for the memory format and <modvmm-netmap/netmap_ring.h> for the ring protocol).
 *
 * Three layers, each usable alone:
 *  - regions: create a pipe's shared region in a sealed memfd, or check and
 *    map one received from a peer;
 *  - rendezvous (nmport_rdv): two processes meet on a pipe NAME through a unix
 *    socket in the runtime folder, exchanging the memfd and eventfds; either
 *    may start first; when a peer dies the survivor sees the link go down and
 *    accepts the next peer (both ends hold the listening socket);
 *  - ports (struct nmport): one end driven by one thread of a host program,
 *    which also runs the end's TX engine (its TX rings feed the peer's RX
 *    rings by buffer swapping inside nmport_txsync()).
 *
 * Runtime folder: $MODVMM_RUNDIR, else $XDG_RUNTIME_DIR/modvmm, else
 * /run/modvmm for root, else /tmp/modvmm-UID.  Pipe NAME lives at
 * RUNDIR/pipe/NAME.sock (and NAME.lock).
 *
 * Errors are negative errno values.  Nothing here is thread-safe: one thread
 * per struct nmport (or per struct nmport_rdv).
 */
#ifndef MODVMM_NMPORT_H
#define MODVMM_NMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <modvmm-netmap/netmap_ring.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NMPORT_MUST_CHECK __attribute__((warn_unused_result))

/* Defaults for modvmm-pktgen and the pipe backend. */
#define NMPORT_DEFAULT_RINGS     1
#define NMPORT_DEFAULT_SLOTS     1024
#define NMPORT_DEFAULT_BUF_SIZE  2048

/* ---- regions ---------------------------------------------------------------- */

struct nmport_region {
	int fd;               /* the sealed memfd */
	uint8_t *base;        /* the whole region, mapped shared */
	struct nmport_mem mem; /* private checked copy of the descriptor */
};

/* A valid pipe name: 1-63 characters from [A-Za-z0-9_.-], not starting with '.'. */
bool nmport_name_ok(const char *name);

/* Create a region for pipe `name` (memfd sealed against resizing), formatted:
 * every ring reset, every slot holding its own buffer. */
NMPORT_MUST_CHECK int nmport_region_create(const char *name, const struct nmport_geom *g,
					   struct nmport_region *r);
/* Map a region received from a peer.  Takes ownership of fd (closed on error).
 * Refuses (-EPROTO) a memfd that can still grow or shrink, a size that does not
 * match, or a descriptor that nmport_mem_check() rejects. */
NMPORT_MUST_CHECK int nmport_region_open(int fd, struct nmport_region *r);
void nmport_region_close(struct nmport_region *r);
/* Trusted view of end `end` (0 or 1). */
void nmport_region_view(const struct nmport_region *r, unsigned end, struct nmport_view *v);
/* Reset end `end` (netmap_if, ring headers, CSB) keeping the slots' buffers;
 * with `assign_bufs`, also give every slot its initial buffer. */
void nmport_end_format(struct nmport_region *r, unsigned end, bool assign_bufs);

/* ---- rendezvous ------------------------------------------------------------- */

/* The fds an end hands to its peer, per ring pair i:
 *  rx_irq[i]:  the peer writes it after filling my RX ring i if I asked
 *              (atok.appl_need_kick); I wait on it;
 *  rx_kick[i]: I write it after releasing RX slots if the peer's engine asked
 *              (ktoa.kern_need_kick); the peer waits on it.
 * The same fd may appear several times. */
struct nmport_rdv_fds {
	int rx_irq[NMPORT_MAX_RINGS];
	int rx_kick[NMPORT_MAX_RINGS];
	/* Pulling (bitmaps of ring pairs).  An end whose TX rings are filled by
	 * somebody who cannot run their engine (a guest behind ptnetmap-memdev)
	 * offers them; an end that wants to can run the peer's TX engine itself,
	 * inside its rxsync, moving the peer's TX ring i straight into its own RX
	 * ring i.  Ring i is pulled while the link is up when one end offers it
	 * and the other wants it; the offering end then leaves that TX ring alone
	 * (see nmport_rdv_pulled()), so no third thread sits on the data path.
	 * For each offered ring i:
	 *  tx_kick[i]: the TX ring's user writes it after handing packets over if
	 *              the engine asked (atok->kern_need_kick); the puller waits on it;
	 *  tx_irq[i]:  the puller writes it after completing TX slots if the user
	 *              asked (atok->appl_need_kick); the user waits on it. */
	uint32_t offer_pull, want_pull;
	int tx_kick[NMPORT_MAX_RINGS];
	int tx_irq[NMPORT_MAX_RINGS];
};

enum nmport_rdv_event {
	NMPORT_RDV_NONE = 0,
	NMPORT_RDV_LINK_UP,   /* a peer joined: peer_fds() are valid */
	NMPORT_RDV_LINK_DOWN, /* the peer went away: its fds are closed */
};

struct nmport_rdv;

/* Meet on pipe `name` in `rundir` (NULL: the default folder).  Creates the
 * region with geometry `g` if no end is alive, else joins the live end's region
 * (whose geometry wins).  `mine` is copied (the fds stay owned by the caller
 * and must stay open).  Returns with the link up when joining, down when
 * creating.  With g NULL it only joins: -ENOENT or -ECONNREFUSED when no end
 * is alive (a switch joining the ports it finds). */
NMPORT_MUST_CHECK int nmport_rdv_open(const char *rundir, const char *name,
				      const struct nmport_geom *g,
				      const struct nmport_rdv_fds *mine,
				      struct nmport_rdv **out);
void nmport_rdv_close(struct nmport_rdv *rdv);
struct nmport_region *nmport_rdv_region(struct nmport_rdv *rdv);
unsigned nmport_rdv_end(const struct nmport_rdv *rdv);
bool nmport_rdv_link_up(const struct nmport_rdv *rdv);
/* The peer's fds while the link is up (owned by the rdv). */
const struct nmport_rdv_fds *nmport_rdv_peer_fds(const struct nmport_rdv *rdv);
/* While the link is up: my TX rings the peer pulls (I must not run their
 * engine), and the peer's TX rings I pull (its tx_kick/tx_irq fds are valid). */
uint32_t nmport_rdv_pulled(const struct nmport_rdv *rdv);
uint32_t nmport_rdv_pulling(const struct nmport_rdv *rdv);
/* One fd (epoll) that becomes readable when process() has something to do. */
int nmport_rdv_fd(const struct nmport_rdv *rdv);
/* Handle pending control events without blocking (except for up to
 * NMPORT_RDV_HANDSHAKE_MS while a joining peer completes its handshake).
 * Returns one event per call (call again until NMPORT_RDV_NONE), or -errno.
 * A LINK_DOWN is always reported before the next LINK_UP, so a caller can stop
 * using the old peer's rings first. */
int nmport_rdv_process(struct nmport_rdv *rdv);
#define NMPORT_RDV_HANDSHAKE_MS 5000

/* Resolve the runtime folder into buf (see above); creates nothing. */
int nmport_rundir(char *buf, size_t len);

/* ---- ports ------------------------------------------------------------------ */

struct nmport;

struct nmport_stats {
	uint64_t tx_delivered; /* packets this end's engine put into the peer's RX rings */
	uint64_t pulled;       /* packets this end pulled from the peer's TX rings */
	uint64_t tx_dropped;   /* packets completed unsent: link down, bad slot */
	uint64_t kicks;        /* eventfd writes (irq to the peer, kick of the peer's engine) */
	uint64_t sleeps;       /* times nmport_poll() blocked */
	uint64_t link_ups, link_downs;
	uint64_t bad;          /* peer values refused (heads, tails, slots) */
};

/* Open an end of pipe `name` through the rendezvous (g: geometry if creating;
 * NULL: join a live end only, see nmport_rdv_open()). */
NMPORT_MUST_CHECK int nmport_open(const char *rundir, const char *name,
				  const struct nmport_geom *g, struct nmport **out);
/* The same, offering the engine of my TX rings in `offer_pull` to the peer
 * and pulling the peer's TX rings in `want_pull` when it offers them (ring
 * bitmaps; see struct nmport_rdv_fds).  Pull only rings you rxsync: a pulled
 * ring moves only inside nmport_rxsync(). */
NMPORT_MUST_CHECK int nmport_open_ex(const char *rundir, const char *name,
				     const struct nmport_geom *g, uint32_t offer_pull,
				     uint32_t want_pull, struct nmport **out);
/* Both ends of a new pipe in this process, no socket (for threads). */
NMPORT_MUST_CHECK int nmport_pair(const char *name, const struct nmport_geom *g,
				  struct nmport **a, struct nmport **b);
void nmport_close(struct nmport *p);

unsigned nmport_nrings(const struct nmport *p);
unsigned nmport_end(const struct nmport *p);
bool nmport_link_up(const struct nmport *p);
/* This link's pull bitmaps: my TX rings the peer pulls, its TX rings I pull. */
uint32_t nmport_pulled(const struct nmport *p);
uint32_t nmport_pulling(const struct nmport *p);
const struct nmport_mem *nmport_mem(const struct nmport *p);
/* The region this end lives in (mapped whole). */
struct nmport_region *nmport_region(struct nmport *p);

/* The user side of TX / RX ring i: fill or consume with the nm_uring_* helpers. */
struct nm_uring *nmport_tx(struct nmport *p, unsigned i);
struct nm_uring *nmport_rx(struct nmport *p, unsigned i);

/* TX ring i: publish what the user advanced, move pending packets into the
 * peer's RX ring (or drop them while the link is down), take completions. */
void nmport_txsync(struct nmport *p, unsigned i);
/* RX ring i: release what the user advanced (kicking the peer's engine if it
 * waits for room), take new packets. */
void nmport_rxsync(struct nmport *p, unsigned i);

#define NMPORT_POLLIN    1u /* a packet at cur of the RX ring */
#define NMPORT_POLLOUT   2u /* a free slot at cur of the TX ring */
#define NMPORT_POLLDRAIN 4u /* nothing pending in the TX ring (all moved to the peer) */
/* Wait until one of `events` holds on some ring, the link changes, or
 * timeout_ms passes (-1: forever; 0: just check, taking pending wake-ups).
 * Returns 1 (ready or link change), 0 on timeout, -errno on error.  Handles
 * the rendezvous on the way.  When it returns 0 the end has asked its peer
 * for a wake-up on `events`. */
int nmport_poll(struct nmport *p, unsigned events, int timeout_ms);
/* The same for ring pair `ring` only. */
int nmport_poll_ring(struct nmport *p, unsigned ring, unsigned events, int timeout_ms);
/* One fd (epoll) that becomes readable when nmport_poll() on this end has
 * something to look at: a program serving many ends (a switch) watches these
 * with its own epoll and calls nmport_poll(p, events, 0) to arm each end. */
int nmport_fd(const struct nmport *p);
/* Packets handed over on TX ring `ring` and not yet moved to the peer. */
uint32_t nmport_tx_pending(const struct nmport *p, unsigned ring);

void nmport_get_stats(const struct nmport *p, struct nmport_stats *st);

#ifdef __cplusplus
}
#endif
#endif /* MODVMM_NMPORT_H */
