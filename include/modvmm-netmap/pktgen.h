/* SPDX-License-Identifier: MIT */
/*
 * The test packet of modvmm-pktgen, shared by the host tool, the guest
 * example (lib/nmguest) and the test guests: an Ethernet frame with the local
 * experimental EtherType, carrying a session id and a sequence number so a
 * receiver can prove that nothing was lost or reordered.
 * Multi-byte fields after the EtherType are little endian (both ends are x86).
 */
#ifndef MODVMM_PKTGEN_H
#define MODVMM_PKTGEN_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stdint.h>
#endif

#define PKTGEN_ETHERTYPE   0x88b5     /* IEEE 802 Local Experimental EtherType 1 */
#define PKTGEN_MAGIC       0x544b504du /* "MPKT" */
#define PKTGEN_MIN_SIZE    40u        /* sizeof(struct pktgen_hdr) */
#define PKTGEN_DEFAULT_SIZE 64u

#define PKTGEN_F_FIN  0x1u /* last packet of its session */
#define PKTGEN_F_PING 0x2u /* a ping: echo it */
#define PKTGEN_F_PONG 0x4u /* an echoed ping */
#define PKTGEN_F_HELLO 0x8u /* an announcement to a learning switch: not part of a stream */

struct pktgen_hdr {
	uint8_t  dst[6];
	uint8_t  src[6];
	uint8_t  ethertype[2]; /* big endian PKTGEN_ETHERTYPE */
	uint16_t flags;        /* PKTGEN_F_* */
	uint32_t magic;        /* PKTGEN_MAGIC */
	uint32_t session;      /* chosen by the sender at start */
	uint64_t seq;          /* 0, 1, 2, ... within a session */
	uint64_t tstamp_ns;    /* sender's clock, for ping */
};

#ifdef __cplusplus
static_assert(sizeof(struct pktgen_hdr) == PKTGEN_MIN_SIZE, "pktgen header layout");
#else
_Static_assert(sizeof(struct pktgen_hdr) == PKTGEN_MIN_SIZE, "pktgen header layout");
#endif

/*
 * Write a test frame of `size` bytes (at least PKTGEN_MIN_SIZE) into buf: the
 * header with dst_src (the destination MAC then the source MAC), then zeros.
 * Every field is stored in place with fixed-size copies the compiler turns
 * into immediate stores: a header built on the stack and copied out is read
 * back across overlapping stores, and that store-forwarding stall alone cost a
 * guest's TX loop a third of its packet rate.
 */
static inline void pktgen_fill(void *buf, const uint8_t dst_src[12], uint32_t session,
			       uint64_t seq, uint16_t flags, uint64_t tstamp_ns, uint32_t size)
{
	struct pktgen_hdr *h = (struct pktgen_hdr *)buf;
	uint8_t *tail = (uint8_t *)buf + sizeof(*h);
	uint32_t k = 0, rest = size > sizeof(*h) ? size - (uint32_t)sizeof(*h) : 0;
	const uint64_t zero = 0;

	__builtin_memcpy(h->dst, dst_src, 12);
	h->ethertype[0] = PKTGEN_ETHERTYPE >> 8;
	h->ethertype[1] = PKTGEN_ETHERTYPE & 0xff;
	h->flags = flags;
	h->magic = PKTGEN_MAGIC;
	h->session = session;
	h->seq = seq;
	h->tstamp_ns = tstamp_ns;
	for (; k + sizeof(zero) <= rest; k += sizeof(zero))
		__builtin_memcpy(tail + k, &zero, sizeof(zero));
	for (; k < rest; k++)
		tail[k] = 0;
}

/* What a receiver knows about the stream (pktgen_rx_check). */
struct pktgen_rx_state {
	uint32_t sessions;  /* sessions seen */
	uint32_t session;   /* the current one */
	uint64_t first;     /* first sequence number seen in it */
	uint64_t next;      /* next one expected */
	uint64_t packets;   /* packets of the current session */
	uint64_t errors;    /* malformed, lost, reordered or duplicated */
	bool fin;           /* the current session sent its last packet */
};

/*
 * Account one received frame.  A new session id starts a new session at
 * whatever sequence number it carries (a receiver may join late); within a
 * session every packet must carry the next number.  Returns 1 when the frame
 * started a session, 0 when it was in order, -1 for an error, 2 for an
 * announcement (PKTGEN_F_HELLO, sent to a learning switch: not part of any
 * stream, nothing counted).
 */
static inline int pktgen_rx_check(struct pktgen_rx_state *s, const void *buf, uint32_t len)
{
	const struct pktgen_hdr *h = (const struct pktgen_hdr *)buf;

	if (len < PKTGEN_MIN_SIZE || h->magic != PKTGEN_MAGIC ||
	    h->ethertype[0] != (PKTGEN_ETHERTYPE >> 8) || h->ethertype[1] != (PKTGEN_ETHERTYPE & 0xff)) {
		s->errors++;
		return -1;
	}
	if (h->flags & PKTGEN_F_HELLO)
		return 2;
	if (s->sessions == 0 || h->session != s->session) {
		s->sessions++;
		s->session = h->session;
		s->first = h->seq;
		s->next = h->seq + 1;
		s->packets = 1;
		s->fin = (h->flags & PKTGEN_F_FIN) != 0;
		return 1;
	}
	s->packets++;
	s->fin = (h->flags & PKTGEN_F_FIN) != 0;
	if (h->seq != s->next) {
		s->errors++;
		s->next = h->seq + 1;
		return -1;
	}
	s->next++;
	return 0;
}

/* An echoer's answer: turn a ping (a pktgen frame with PKTGEN_F_PING) into
 * its pong, in place.  Returns false (frame untouched) for anything else. */
static inline bool pktgen_pong(void *buf, uint32_t len)
{
	struct pktgen_hdr *h = (struct pktgen_hdr *)buf;

	if (len < PKTGEN_MIN_SIZE || h->magic != PKTGEN_MAGIC || !(h->flags & PKTGEN_F_PING))
		return false;
	h->flags = (uint16_t)((h->flags & ~PKTGEN_F_PING) | PKTGEN_F_PONG);
	return true;
}

#endif /* MODVMM_PKTGEN_H */
