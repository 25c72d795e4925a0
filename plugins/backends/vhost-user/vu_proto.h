/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user protocol, frontend side: message layout and a connection that
 * sends requests (with file descriptors through SCM_RIGHTS) and reads checked
 * replies.  Numbers and layouts are from QEMU's docs/interop/vhost-user.rst
 * ("Message types", "Message specification"); every message is a 12-byte
 * header (request, flags, payload size) followed by the payload, little-endian
 * (x86-64 only, so native structs).
 *
 * Nothing from the peer is trusted: a reply with the wrong request, version,
 * flags or size, a short read, a closed socket or a timeout is a protocol
 * error (-EPROTO, -ECONNRESET or -ETIMEDOUT) with the reason in `err`.
 */
#ifndef VU_PROTO_H
#define VU_PROTO_H

#include <stdbool.h>
#include <stdint.h>

/* Front-end message types (vhost-user.rst, "Front-end message types"). */
enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_SET_MEM_TABLE = 5,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
};

/* Header flags ("Message specification"): version in bits 0-1. */
#define VU_VERSION         0x1u
#define VU_VERSION_MASK    0x3u
#define VU_FLAG_REPLY      (1u << 2)
#define VU_FLAG_NEED_REPLY (1u << 3)

/* Virtio feature bit of the protocol-feature negotiation. */
#define VU_F_PROTOCOL_FEATURES 30

/* Protocol features ("Protocol features"). */
#define VU_PROTOCOL_F_MQ        0
#define VU_PROTOCOL_F_REPLY_ACK 3
#define VU_PROTOCOL_F_CONFIG    9

/* SET_VRING_KICK/CALL payload: ring index in bits 0-7, bit 8 = no fd. */
#define VU_VRING_IDX_MASK 0xffu
#define VU_VRING_NOFD     (1u << 8)

#define VU_MAX_REGIONS 8   /* SET_MEM_TABLE without CONFIGURE_MEM_SLOTS */
#define VU_MAX_FDS     VU_MAX_REGIONS

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __attribute__((packed));

struct vu_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;     /* frontend user addresses */
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

struct vu_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uaddr;
	uint64_t mmap_offset;
};

struct vu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vu_region r[VU_MAX_REGIONS];
};

/* Requests and their replies on one socket; not thread-safe (the caller locks). */
struct vu_conn {
	int fd;
	bool reply_ack;              /* REPLY_ACK negotiated: every set waits for its ack */
	int timeout_ms;              /* per reply */
	char err[160];               /* why the last call failed */
};

/* Send a request with `len` payload bytes and `nfds` descriptors.  When it has
 * no reply of its own and REPLY_ACK is on, waits for the ack (0 = success). */
int vu_set(struct vu_conn *c, enum vu_request req, const void *payload, uint32_t len, const int *fds,
           unsigned nfds) __attribute__((warn_unused_result));
/* Send a request and read its reply payload, which must be exactly `rlen` bytes. */
int vu_get(struct vu_conn *c, enum vu_request req, const void *payload, uint32_t len, void *reply,
           uint32_t rlen) __attribute__((warn_unused_result));
const char *vu_request_name(uint32_t req);

#endif
