/* SPDX-License-Identifier: MIT */
/*
 * modvmm netmap-style port memory: the layout of one shared-memory region that
 * holds the two ends (ports) of a pipe, and the register block of the
 * ptnetmap-memdev PCI device that maps one end into a guest.
 *
 * Names and meanings follow netmap (sys/net/netmap.h, netmap_user.h,
 * netmap_virt.h): struct netmap_if / netmap_ring / netmap_slot, head/cur/tail,
 * NS_* slot flags, the CSB halves struct nm_csb_atok / nm_csb_ktoa, and the
 * PTNET_MDEV_IO_* register offsets.  The structures use fixed-width fields and
 * are NOT binary compatible with netmap's own headers (which carry a struct
 * timeval and OS-dependent padding); do not include both.
 *
 * One region (a sealed memfd) per pipe, all offsets page aligned:
 *
 *   0            struct nmport_mem: geometry and where everything is
 *   end[0] section  netmap_if | CSB (atok[], ktoa[]) | rings (tx..., rx...)
 *   buffer pool     nbufs * buf_size bytes, shared by both ends
 *   end[1] section  netmap_if | CSB | rings
 *
 * Each end has a "window": the contiguous part of the region that its user
 * needs, end 0 = [end0 section, buffer pool], end 1 = [buffer pool, end1
 * section].  A guest sees exactly its window through BAR1 and never the other
 * end's rings or CSB.  Offsets inside an end are relative (netmap_if.ring_ofs
 * from the netmap_if, netmap_ring.buf_ofs from the ring, signed), so the same
 * bytes work through any mapping of the window.
 *
 * Pipe end E, ring pair i: E's TX ring i feeds the other end's RX ring i by
 * swapping buffer indices (see <modvmm-netmap/netmap_ring.h>); payload never moves.
 *
 * Trust: every field of the region can be written by every party that maps
 * it (a guest writes its whole window).  Readers keep private copies of the
 * geometry and validate every index, length and offset they read; see
 * nmport_mem_check() and the nm_uring / nm_kring helpers.
 *
 * This header compiles in userspace, freestanding (-ffreestanding) and in the
 * Linux kernel (__KERNEL__).
 */
#ifndef MODVMM_NETMAP_PORT_H
#define MODVMM_NETMAP_PORT_H

#ifdef NETMAP_API
#error "<modvmm-netmap/netmap_port.h> reuses netmap's names: do not include it with <net/netmap.h>"
#endif

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/stddef.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#endif

#ifdef __cplusplus
extern "C" {
#define NMPORT_STATIC_ASSERT static_assert
#else
#define NMPORT_STATIC_ASSERT _Static_assert
#endif

#define NMPORT_MAGIC       0x4e4d504fu /* "NMPO" in the first word of struct nmport_mem */
#define NMPORT_VERSION     1u
#define NMPORT_PAGE_SIZE   4096u       /* alignment of every section (x86 page) */
#define NMPORT_CACHE_LINE  64u         /* each CSB half sits on its own line */
#define NMPORT_IFNAMSIZ    16u         /* netmap_if.ni_name (IFNAMSIZ in netmap) */
#define NMPORT_NAME_MAX    64u         /* pipe name including the NUL */
#define NMPORT_ENDS        2u          /* a pipe has two ends */

/* Limits on the geometry (checked by nmport_layout()). */
#define NMPORT_MAX_RINGS     16u       /* ring pairs per end */
#define NMPORT_MIN_SLOTS     4u
#define NMPORT_MAX_SLOTS     32768u
#define NMPORT_MIN_BUF_SIZE  64u       /* buffer sizes are multiples of NMPORT_CACHE_LINE */
#define NMPORT_MAX_BUF_SIZE  32768u    /* fits netmap_slot.len */
#define NMPORT_MAX_EXTRA_BUFS 65536u
#define NMPORT_MAX_SIZE      (1ull << 30) /* a region is at most 1 GiB */

/* Fixed sizes inside an end section. */
#define NMPORT_NIFP_SIZE     512u      /* room for netmap_if + ring_ofs[2 * NMPORT_MAX_RINGS] */
#define NMPORT_RING_HDR_SIZE 128u      /* netmap_ring.slot[] starts here */

/* ---- slots, rings, interface (netmap.h) ------------------------------------ */

/* A buffer descriptor (netmap.h struct netmap_slot). */
struct netmap_slot {
	uint32_t buf_idx;  /* buffer index in the pool */
	uint16_t len;      /* bytes used in the buffer */
	uint16_t flags;    /* NS_* */
	uint64_t ptr;      /* netmap: indirect buffers; unused here, zero */
};

#define NS_BUF_CHANGED 0x0001u /* buf_idx changed (set by whoever swaps buffers) */
#define NS_REPORT      0x0002u /* netmap: ask for a completion report; ignored */
#define NS_FORWARD     0x0004u /* netmap: forward to the host stack; ignored */
#define NS_NO_LEARN    0x0008u /* netmap: VALE switch; ignored */
#define NS_INDIRECT    0x0010u /* netmap: data at `ptr`; never honoured here */
#define NS_MOREFRAG    0x0020u /* more fragments of this packet follow */

#define NMPORT_DIR_TX 0u /* netmap_ring.dir (netmap.h: "0: tx, 1: rx") */
#define NMPORT_DIR_RX 1u

/*
 * A ring (netmap.h struct netmap_ring).  head/cur belong to the ring's user,
 * tail to the kernel side (here: whoever moves packets in or out, see
 * <modvmm-netmap/netmap_ring.h>).  The user owns slots [head, tail); one slot always
 * stays with the kernel side so that head == tail means "nothing for the user".
 * TX: [head, tail) are free for new packets.  RX: [head, tail) hold packets.
 * The authoritative copies of head/cur (user) and hwcur/hwtail (kernel side)
 * travel through the ring's CSB; head/cur/tail here mirror them for readers.
 */
struct netmap_ring {
	int64_t  buf_ofs;      /* buffer 0 is at (char *)ring + buf_ofs (may be < 0) */
	uint32_t num_slots;
	uint32_t nr_buf_size;
	uint16_t ringid;       /* index among the end's rings of this direction */
	uint16_t dir;          /* NMPORT_DIR_TX / NMPORT_DIR_RX */
	uint32_t head;         /* (u) first slot the user owns */
	uint32_t cur;          /* (u) wakeup point */
	uint32_t tail;         /* (k) first slot the kernel side owns */
	uint32_t flags;
	uint32_t nr_buf_count; /* modvmm: buffers in the pool (valid buf_idx < this) */
	uint8_t  reserved[NMPORT_RING_HDR_SIZE - 40];
	struct netmap_slot slot[];
};

/*
 * The interface descriptor (netmap.h struct netmap_if): one per end.
 * ring_ofs[] holds the offset of each ring from this struct: TX rings first,
 * then RX rings (no host rings: ni_host_tx_rings = ni_host_rx_rings = 0).
 */
struct netmap_if {
	char     ni_name[NMPORT_IFNAMSIZ];
	uint32_t ni_version;       /* NMPORT_VERSION */
	uint32_t ni_flags;
	uint32_t ni_tx_rings;
	uint32_t ni_rx_rings;
	uint32_t ni_bufs_head;     /* netmap: first extra buffer; 0 = none */
	uint32_t ni_host_tx_rings;
	uint32_t ni_host_rx_rings;
	uint32_t ni_spare1[3];
	int64_t  ni_csb_ofs;       /* modvmm: atok[] from this struct; ktoa[] follows it */
	int64_t  ring_ofs[];
};

/*
 * The CSB (netmap.h "CSB mode"): one atok and one ktoa entry per ring, tx
 * rings first, then rx rings; the atok array is followed by the ktoa array so
 * the two directions never share a cache line.
 * "appl" is the ring's user, "kern" is its kernel side.
 */
struct nm_csb_atok {
	uint32_t head;            /* user -> kernel: the user's head */
	uint32_t cur;             /* user -> kernel: the user's cur */
	uint32_t appl_need_kick;  /* the user sleeps: notify it on progress */
	uint32_t sync_flags;      /* netmap: flags of the user's sync; unused */
	uint32_t pad[12];
};

struct nm_csb_ktoa {
	uint32_t hwcur;           /* kernel -> user: first slot not yet processed */
	uint32_t hwtail;          /* kernel -> user: the user's new tail */
	uint32_t kern_need_kick;  /* the kernel side sleeps: kick it on progress */
	uint32_t pad[13];
};

/* ---- the region descriptor ----------------------------------------------- */

/* Where one end lives.  win_ofs/win_size from the region start; the other
 * offsets from the window start (what ptnetmap-memdev reports in BAR0). */
struct nmport_end_desc {
	uint64_t win_ofs;
	uint64_t win_size;
	uint64_t nifp_ofs;      /* struct netmap_if */
	uint64_t csb_ofs;       /* nm_csb_atok[2 * nr_rings], then nm_csb_ktoa[2 * nr_rings] */
	uint64_t ring_pool_ofs; /* ring 0 (tx 0); ring k at + k * ring_objsz */
	uint64_t buf_pool_ofs;  /* buffer 0 */
	uint64_t reserved[2];
};

/* The geometry a region is built from. */
struct nmport_geom {
	uint32_t nr_rings;   /* ring pairs per end (TX rings = RX rings = nr_rings) */
	uint32_t num_slots;  /* slots per ring */
	uint32_t buf_size;   /* bytes per buffer */
	uint32_t extra_bufs; /* buffers beyond one per slot (netmap's ni_bufs_head list) */
};

/* At offset 0 of the region; written once by the creator. */
struct nmport_mem {
	uint32_t magic;           /* NMPORT_MAGIC */
	uint32_t version;         /* NMPORT_VERSION */
	uint64_t size;            /* bytes in the region */
	struct nmport_geom geom;
	uint32_t nbufs;           /* buffers in the pool */
	uint32_t ring_objsz;      /* bytes per ring (page multiple) */
	uint64_t buf_pool_ofs;    /* from the region start */
	uint64_t buf_pool_size;
	struct nmport_end_desc end[NMPORT_ENDS];
	char     name[NMPORT_NAME_MAX];
	uint64_t reserved[36];
};

NMPORT_STATIC_ASSERT(sizeof(struct netmap_slot) == 16, "netmap_slot layout");
NMPORT_STATIC_ASSERT(sizeof(struct netmap_ring) == NMPORT_RING_HDR_SIZE, "netmap_ring header layout");
NMPORT_STATIC_ASSERT(offsetof(struct netmap_if, ring_ofs) == 64, "netmap_if layout");
NMPORT_STATIC_ASSERT(sizeof(struct netmap_if) + 2 * NMPORT_MAX_RINGS * sizeof(int64_t) <= NMPORT_NIFP_SIZE,
	       "netmap_if room");
NMPORT_STATIC_ASSERT(sizeof(struct nm_csb_atok) == NMPORT_CACHE_LINE, "atok is one cache line");
NMPORT_STATIC_ASSERT(sizeof(struct nm_csb_ktoa) == NMPORT_CACHE_LINE, "ktoa is one cache line");
NMPORT_STATIC_ASSERT(sizeof(struct nmport_mem) <= NMPORT_PAGE_SIZE, "region descriptor fits a page");

/* ---- layout computation ---------------------------------------------------- */

static inline uint64_t nmport_page_round(uint64_t x)
{
	return (x + NMPORT_PAGE_SIZE - 1) & ~(uint64_t)(NMPORT_PAGE_SIZE - 1);
}

/* Bytes of an end section before its rings: netmap_if, then the CSB. */
static inline uint64_t nmport_end_hdr_size(uint32_t nr_rings)
{
	return nmport_page_round(NMPORT_NIFP_SIZE +
				 2ull * 2 * nr_rings * NMPORT_CACHE_LINE);
}

/* True if `g` is within the limits above. */
static inline bool nmport_geom_ok(const struct nmport_geom *g)
{
	return g->nr_rings >= 1 && g->nr_rings <= NMPORT_MAX_RINGS &&
	       g->num_slots >= NMPORT_MIN_SLOTS && g->num_slots <= NMPORT_MAX_SLOTS &&
	       g->buf_size >= NMPORT_MIN_BUF_SIZE && g->buf_size <= NMPORT_MAX_BUF_SIZE &&
	       g->buf_size % NMPORT_CACHE_LINE == 0 &&
	       g->extra_bufs <= NMPORT_MAX_EXTRA_BUFS;
}

/*
 * Compute the whole layout of a region from its geometry: fills every field of
 * *m except name.  Deterministic, so a process that receives a region checks
 * it by recomputing (nmport_mem_check()).  Returns false if the geometry is
 * out of limits or the region would exceed NMPORT_MAX_SIZE.
 */
static inline bool nmport_layout(const struct nmport_geom *g, struct nmport_mem *m)
{
	uint64_t hdr, rings, section, nbufs, pool, ofs;
	unsigned int e;

	if (!nmport_geom_ok(g))
		return false;
	hdr = nmport_end_hdr_size(g->nr_rings);
	m->ring_objsz = (uint32_t)nmport_page_round(NMPORT_RING_HDR_SIZE +
						     (uint64_t)g->num_slots * sizeof(struct netmap_slot));
	rings = 2ull * g->nr_rings * m->ring_objsz;
	section = hdr + rings;
	nbufs = (uint64_t)NMPORT_ENDS * 2 * g->nr_rings * g->num_slots + g->extra_bufs;
	pool = nmport_page_round(nbufs * g->buf_size);
	if (NMPORT_PAGE_SIZE + 2 * section + pool > NMPORT_MAX_SIZE)
		return false;

	m->magic = NMPORT_MAGIC;
	m->version = NMPORT_VERSION;
	m->geom = *g;
	m->nbufs = (uint32_t)nbufs;
	m->buf_pool_ofs = NMPORT_PAGE_SIZE + section;
	m->buf_pool_size = pool;
	m->size = NMPORT_PAGE_SIZE + 2 * section + pool;
	for (e = 0; e < NMPORT_ENDS; e++) {
		struct nmport_end_desc *d = &m->end[e];
		/* end 0's section precedes the pool, end 1's follows it */
		uint64_t sec = e == 0 ? NMPORT_PAGE_SIZE : m->buf_pool_ofs + pool;

		d->win_ofs = e == 0 ? sec : m->buf_pool_ofs;
		d->win_size = section + pool;
		ofs = sec - d->win_ofs;
		d->nifp_ofs = ofs;
		d->csb_ofs = ofs + NMPORT_NIFP_SIZE;
		d->ring_pool_ofs = ofs + hdr;
		d->buf_pool_ofs = m->buf_pool_ofs - d->win_ofs;
		d->reserved[0] = d->reserved[1] = 0;
	}
	return true;
}

/*
 * Check a region descriptor read from shared memory against the size of the
 * mapping: the geometry must be within limits and every derived field must
 * equal what nmport_layout() computes.  On success *out is a private copy to
 * use from then on (never re-read the shared one).
 */
static inline bool nmport_mem_check(const struct nmport_mem *shared, uint64_t mapped_size,
				    struct nmport_mem *out)
{
	struct nmport_mem want; /* nmport_layout() fills what is compared */
	struct nmport_geom g;
	size_t i;

	__builtin_memcpy(out, shared, sizeof(*out)); /* one snapshot, then work on it */
	if (out->magic != NMPORT_MAGIC || out->version != NMPORT_VERSION)
		return false;
	g = out->geom;
	if (!nmport_layout(&g, &want))
		return false;
	if (want.size != out->size || want.size != mapped_size || want.nbufs != out->nbufs ||
	    want.ring_objsz != out->ring_objsz || want.buf_pool_ofs != out->buf_pool_ofs ||
	    want.buf_pool_size != out->buf_pool_size)
		return false;
	for (i = 0; i < NMPORT_ENDS; i++) {
		const struct nmport_end_desc *a = &want.end[i], *b = &out->end[i];

		if (a->win_ofs != b->win_ofs || a->win_size != b->win_size ||
		    a->nifp_ofs != b->nifp_ofs || a->csb_ofs != b->csb_ofs ||
		    a->ring_pool_ofs != b->ring_pool_ofs || a->buf_pool_ofs != b->buf_pool_ofs)
			return false;
	}
	out->name[NMPORT_NAME_MAX - 1] = '\0';
	return true;
}

/*
 * Check one end's window as a guest learns it from the ptnetmap-memdev
 * registers (offsets from the window start): every part lies inside the
 * window of `win_size` bytes and the pool holds at least one buffer per slot.
 */
static inline bool nmport_window_check(const struct nmport_geom *g, uint32_t nbufs,
				       uint32_t ring_objsz, const struct nmport_end_desc *d,
				       uint64_t win_size)
{
	uint64_t csb_size, rings, pool;

	if (!nmport_geom_ok(g) || win_size > NMPORT_MAX_SIZE)
		return false;
	csb_size = 2ull * 2 * g->nr_rings * NMPORT_CACHE_LINE;
	rings = 2ull * g->nr_rings * ring_objsz;
	pool = (uint64_t)nbufs * g->buf_size;
	if (ring_objsz < NMPORT_RING_HDR_SIZE + (uint64_t)g->num_slots * sizeof(struct netmap_slot) ||
	    ring_objsz > NMPORT_MAX_SIZE || ring_objsz % NMPORT_CACHE_LINE != 0)
		return false;
	if (nbufs < (uint64_t)2 * g->nr_rings * g->num_slots)
		return false;
	return d->nifp_ofs <= win_size && NMPORT_NIFP_SIZE <= win_size - d->nifp_ofs &&
	       d->nifp_ofs % 8 == 0 &&
	       d->csb_ofs <= win_size && csb_size <= win_size - d->csb_ofs &&
	       d->csb_ofs % NMPORT_CACHE_LINE == 0 &&
	       d->ring_pool_ofs <= win_size && rings <= win_size - d->ring_pool_ofs &&
	       d->ring_pool_ofs % NMPORT_CACHE_LINE == 0 &&
	       d->buf_pool_ofs <= win_size && pool <= win_size - d->buf_pool_ofs &&
	       d->buf_pool_ofs % NMPORT_CACHE_LINE == 0;
}

/* ---- one end seen through its window ------------------------------------ */

/*
 * A private, trusted description of one end's window: built from a checked
 * struct nmport_mem (nmport_view_from_mem) or from the memdev registers
 * (checked with nmport_window_check).  Rings are numbered like the CSB and
 * the doorbells: TX rings 0..nr_rings-1, then RX rings nr_rings..2*nr_rings-1.
 */
struct nmport_view {
	uint8_t *win;              /* the window's first byte in this address space */
	uint64_t win_size;
	struct nmport_geom geom;
	uint32_t nbufs;
	uint32_t ring_objsz;
	struct nmport_end_desc d;  /* offsets from `win` */
};

static inline void nmport_view_from_mem(struct nmport_view *v, const struct nmport_mem *m,
					uint8_t *region, unsigned int end)
{
	v->win = region + m->end[end].win_ofs;
	v->win_size = m->end[end].win_size;
	v->geom = m->geom;
	v->nbufs = m->nbufs;
	v->ring_objsz = m->ring_objsz;
	v->d = m->end[end];
}

static inline struct netmap_if *nmport_nifp(const struct nmport_view *v)
{
	return (struct netmap_if *)(v->win + v->d.nifp_ofs);
}

static inline struct netmap_ring *nmport_ring(const struct nmport_view *v, uint32_t r)
{
	return (struct netmap_ring *)(v->win + v->d.ring_pool_ofs + (uint64_t)r * v->ring_objsz);
}

static inline struct nm_csb_atok *nmport_atok(const struct nmport_view *v, uint32_t r)
{
	return (struct nm_csb_atok *)(v->win + v->d.csb_ofs) + r;
}

static inline struct nm_csb_ktoa *nmport_ktoa(const struct nmport_view *v, uint32_t r)
{
	return (struct nm_csb_ktoa *)(v->win + v->d.csb_ofs +
				      2ull * v->geom.nr_rings * sizeof(struct nm_csb_atok)) + r;
}

static inline uint8_t *nmport_buf0(const struct nmport_view *v)
{
	return v->win + v->d.buf_pool_ofs;
}

/* ---- ptnetmap-memdev: PCI identity and BAR0 registers (netmap_virt.h) ------- */

#define PTNETMAP_MEMDEV_NAME   "ptnetmap-memdev"
#define PTNETMAP_PCI_VENDOR_ID 0x1b36 /* QEMU virtual devices */
#define PTNETMAP_PCI_DEVICE_ID 0x000c /* memory device */
/* Class code 0xff0000: base class 0xff, "device does not fit in any defined
 * class" (PCI Code and ID Assignment Spec).  QEMU also uses 1b36:000c, for its
 * pcie-root-port (class 0x060400): drivers match the class as well. */
#define PTNETMAP_PCI_CLASS      0xff0000
#define PTNETMAP_PCI_CLASS_MASK 0xffff00
#define PTNETMAP_IO_PCI_BAR    0      /* registers */
#define PTNETMAP_MEM_PCI_BAR   1      /* the end's window */
#define PTNETMAP_MSIX_PCI_BAR  2      /* MSI-X table and PBA */

/* BAR0, 32-bit registers.  Offsets 0-99 are netmap_virt.h's memdev block. */
#define PTNET_MDEV_IO_MEMSIZE_LO       0  /* bytes of BAR1 content (the window), low */
#define PTNET_MDEV_IO_MEMSIZE_HI       4  /* ... high */
#define PTNET_MDEV_IO_MEMID            8  /* identifies the region (the pipe) */
#define PTNET_MDEV_IO_IF_POOL_OFS      64 /* the netmap_if, from BAR1 start */
#define PTNET_MDEV_IO_IF_POOL_OBJNUM   68 /* 1 */
#define PTNET_MDEV_IO_IF_POOL_OBJSZ    72 /* NMPORT_NIFP_SIZE */
#define PTNET_MDEV_IO_RING_POOL_OFS    76 /* ring 0, from BAR1 start */
#define PTNET_MDEV_IO_RING_POOL_OBJNUM 80 /* tx rings + rx rings */
#define PTNET_MDEV_IO_RING_POOL_OBJSZ  84 /* nmport_mem.ring_objsz */
#define PTNET_MDEV_IO_BUF_POOL_OFS     88 /* buffer 0, from BAR1 start */
#define PTNET_MDEV_IO_BUF_POOL_OBJNUM  92 /* nmport_mem.nbufs */
#define PTNET_MDEV_IO_BUF_POOL_OBJSZ   96 /* geom.buf_size */
#define PTNET_MDEV_IO_END              100

/* modvmm additions, in the gap netmap leaves between MEMID and IF_POOL_OFS
 * (names from netmap_virt.h's ptnet block where one exists). */
#define PTNET_MDEV_IO_NUM_TX_RINGS 12 /* read-only */
#define PTNET_MDEV_IO_NUM_RX_RINGS 16
#define PTNET_MDEV_IO_NUM_TX_SLOTS 20
#define PTNET_MDEV_IO_NUM_RX_SLOTS 24
#define PTNET_MDEV_IO_CSB_OFS      28 /* atok[] then ktoa[], from BAR1 start */
#define PTNET_MDEV_IO_LINK         32 /* 1 while the pipe's other end is connected */
#define PTNET_MDEV_IO_VERSION      36 /* NMPORT_VERSION */
/* Guest-RAM CSB (ptnet's CSB_GH/HG): 0 (default) keeps the CSB in BAR1 at
 * CSB_OFS, where a peer process reaches it directly.  A device that accepts a
 * guest-physical address here must bounds-check it against guest RAM and
 * relay between it and the BAR1 CSB; a device may also keep these at 0. */
#define PTNET_MDEV_IO_CSB_GH_BAH   40
#define PTNET_MDEV_IO_CSB_GH_BAL   44
#define PTNET_MDEV_IO_CSB_HG_BAH   48
#define PTNET_MDEV_IO_CSB_HG_BAL   52

/* Doorbells (netmap_virt.h PTNET_IO_KICK_BASE): a 32-bit write to KICK(r)
 * wakes the kernel side of ring r (tx rings 0..T-1, then rx rings T..T+R-1). */
#define PTNET_MDEV_IO_KICK_BASE    128
#define PTNET_MDEV_IO_KICK(r)      (PTNET_MDEV_IO_KICK_BASE + 4 * (r))
#define PTNET_MDEV_IO_SIZE         4096 /* BAR0 size: one page */

/* MSI-X: vector r notifies the user of ring r (same numbering as the kicks). */
#define PTNET_MDEV_MSIX_VECTOR(r)  (r)
#define PTNET_MDEV_MSIX_MAX        (2 * NMPORT_MAX_RINGS)

NMPORT_STATIC_ASSERT(PTNET_MDEV_IO_KICK(2 * NMPORT_MAX_RINGS) <= PTNET_MDEV_IO_SIZE, "kicks fit BAR0");

/*
 * The value of read-only register `off` of a ptnetmap-memdev exposing end
 * `end` of region `m` (offsets from the window start, which BAR1 maps).
 * LINK and the CSB address registers are device state: 0 here.
 */
static inline uint32_t nmport_memdev_reg(const struct nmport_mem *m, unsigned int end,
					 unsigned int off, uint32_t memid)
{
	const struct nmport_end_desc *d = &m->end[end];

	switch (off) {
	case PTNET_MDEV_IO_MEMSIZE_LO:       return (uint32_t)d->win_size;
	case PTNET_MDEV_IO_MEMSIZE_HI:       return (uint32_t)(d->win_size >> 32);
	case PTNET_MDEV_IO_MEMID:            return memid;
	case PTNET_MDEV_IO_NUM_TX_RINGS:
	case PTNET_MDEV_IO_NUM_RX_RINGS:     return m->geom.nr_rings;
	case PTNET_MDEV_IO_NUM_TX_SLOTS:
	case PTNET_MDEV_IO_NUM_RX_SLOTS:     return m->geom.num_slots;
	case PTNET_MDEV_IO_CSB_OFS:          return (uint32_t)d->csb_ofs;
	case PTNET_MDEV_IO_VERSION:          return NMPORT_VERSION;
	case PTNET_MDEV_IO_IF_POOL_OFS:      return (uint32_t)d->nifp_ofs;
	case PTNET_MDEV_IO_IF_POOL_OBJNUM:   return 1;
	case PTNET_MDEV_IO_IF_POOL_OBJSZ:    return NMPORT_NIFP_SIZE;
	case PTNET_MDEV_IO_RING_POOL_OFS:    return (uint32_t)d->ring_pool_ofs;
	case PTNET_MDEV_IO_RING_POOL_OBJNUM: return 2 * m->geom.nr_rings;
	case PTNET_MDEV_IO_RING_POOL_OBJSZ:  return m->ring_objsz;
	case PTNET_MDEV_IO_BUF_POOL_OFS:     return (uint32_t)d->buf_pool_ofs;
	case PTNET_MDEV_IO_BUF_POOL_OBJNUM:  return m->nbufs;
	case PTNET_MDEV_IO_BUF_POOL_OBJSZ:   return m->geom.buf_size;
	default:                             return 0;
	}
}

/*
 * What a guest driver does first: build a view of its window (mapped at `win`,
 * `mapped` bytes) from the ptnetmap-memdev registers, reading each register
 * once with rd(ctx, offset), and check it.  Returns false if the registers do
 * not describe a usable window.  Shared by the kernel driver, the guest
 * library and the test guests.
 */
static inline bool nmport_view_from_regs(struct nmport_view *v,
					 uint32_t (*rd)(const void *ctx, unsigned int off),
					 const void *ctx, uint8_t *win, uint64_t mapped)
{
	uint32_t version, rx_rings, rx_slots, nrings_total;

	v->win = win;
	v->win_size = rd(ctx, PTNET_MDEV_IO_MEMSIZE_LO) |
		      (uint64_t)rd(ctx, PTNET_MDEV_IO_MEMSIZE_HI) << 32;
	v->geom.nr_rings = rd(ctx, PTNET_MDEV_IO_NUM_TX_RINGS);
	v->geom.num_slots = rd(ctx, PTNET_MDEV_IO_NUM_TX_SLOTS);
	v->geom.buf_size = rd(ctx, PTNET_MDEV_IO_BUF_POOL_OBJSZ);
	v->geom.extra_bufs = 0;
	v->nbufs = rd(ctx, PTNET_MDEV_IO_BUF_POOL_OBJNUM);
	v->ring_objsz = rd(ctx, PTNET_MDEV_IO_RING_POOL_OBJSZ);
	v->d.win_ofs = 0;
	v->d.win_size = v->win_size;
	v->d.nifp_ofs = rd(ctx, PTNET_MDEV_IO_IF_POOL_OFS);
	v->d.csb_ofs = rd(ctx, PTNET_MDEV_IO_CSB_OFS);
	v->d.ring_pool_ofs = rd(ctx, PTNET_MDEV_IO_RING_POOL_OFS);
	v->d.buf_pool_ofs = rd(ctx, PTNET_MDEV_IO_BUF_POOL_OFS);
	v->d.reserved[0] = v->d.reserved[1] = 0;
	version = rd(ctx, PTNET_MDEV_IO_VERSION);
	rx_rings = rd(ctx, PTNET_MDEV_IO_NUM_RX_RINGS);
	rx_slots = rd(ctx, PTNET_MDEV_IO_NUM_RX_SLOTS);
	nrings_total = rd(ctx, PTNET_MDEV_IO_RING_POOL_OBJNUM);
	return version == NMPORT_VERSION && rx_rings == v->geom.nr_rings &&
	       rx_slots == v->geom.num_slots && nrings_total == 2 * v->geom.nr_rings &&
	       v->win_size <= mapped &&
	       nmport_window_check(&v->geom, v->nbufs, v->ring_objsz, &v->d, v->win_size);
}

#ifdef __cplusplus
}
#endif
#endif /* MODVMM_NETMAP_PORT_H */
