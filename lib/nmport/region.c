/* SPDX-License-Identifier: MIT */
/* Pipe regions: create in a sealed memfd, check and map a received one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <modvmm-netmap/nmport.h>

#define SEALS_REQUIRED (F_SEAL_SHRINK | F_SEAL_GROW)

bool nmport_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n >= NMPORT_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

void nmport_region_view(const struct nmport_region *r, unsigned end, struct nmport_view *v)
{
	nmport_view_from_mem(v, &r->mem, r->base, end);
}

/* First buffer of ring `ring` of end `end` in the initial assignment. */
static uint32_t first_buf(const struct nmport_mem *m, unsigned end, uint32_t ring)
{
	return (end * 2 * m->geom.nr_rings + ring) * m->geom.num_slots;
}

/* The extra buffers (after all slot buffers) are split between the ends and
 * chained through their first word, 0 ending the list (netmap's ni_bufs_head;
 * buffer 0 always belongs to a slot, so 0 is never an extra buffer). */
static uint32_t chain_extra(struct nmport_region *r, unsigned end)
{
	const struct nmport_mem *m = &r->mem;
	uint32_t first_extra = NMPORT_ENDS * 2 * m->geom.nr_rings * m->geom.num_slots;
	uint32_t half = m->geom.extra_bufs / NMPORT_ENDS;
	uint32_t lo = first_extra + end * half;
	uint32_t hi = end + 1 == NMPORT_ENDS ? m->nbufs : lo + half;
	uint8_t *pool = r->base + m->buf_pool_ofs;

	for (uint32_t b = lo; b < hi; b++) {
		uint32_t next = b + 1 < hi ? b + 1 : 0;
		memcpy(pool + (size_t)b * m->geom.buf_size, &next, sizeof(next));
	}
	return lo < hi ? lo : 0;
}

void nmport_end_format(struct nmport_region *r, unsigned end, bool assign_bufs)
{
	const struct nmport_mem *m = &r->mem;
	struct nmport_view v;
	nmport_region_view(r, end, &v);
	struct netmap_if *nifp = nmport_nifp(&v);
	uint32_t nr = m->geom.nr_rings, n = m->geom.num_slots;

	memset(nifp, 0, NMPORT_NIFP_SIZE);
	snprintf(nifp->ni_name, sizeof(nifp->ni_name), "%.13s%c%u", m->name,
		 end == 0 ? '{' : '}', end); /* netmap's pipe-end naming */
	nifp->ni_version = NMPORT_VERSION;
	nifp->ni_tx_rings = nr;
	nifp->ni_rx_rings = nr;
	nifp->ni_csb_ofs = (int64_t)(v.d.csb_ofs - v.d.nifp_ofs);
	for (uint32_t k = 0; k < 2 * nr; k++)
		nifp->ring_ofs[k] = (int64_t)(v.d.ring_pool_ofs + (uint64_t)k * m->ring_objsz) -
				    (int64_t)v.d.nifp_ofs;
	if (assign_bufs)
		nifp->ni_bufs_head = chain_extra(r, end);

	for (uint32_t k = 0; k < 2 * nr; k++) {
		struct netmap_ring *ring = nmport_ring(&v, k);
		uint32_t dir = k < nr ? NMPORT_DIR_TX : NMPORT_DIR_RX;
		uint64_t ring_ofs = v.d.ring_pool_ofs + (uint64_t)k * m->ring_objsz;

		memset(ring, 0, NMPORT_RING_HDR_SIZE);
		ring->buf_ofs = (int64_t)v.d.buf_pool_ofs - (int64_t)ring_ofs;
		ring->num_slots = n;
		ring->nr_buf_size = m->geom.buf_size;
		ring->ringid = (uint16_t)(k % nr);
		ring->dir = (uint16_t)dir;
		ring->nr_buf_count = m->nbufs;
		if (assign_bufs) {
			for (uint32_t s = 0; s < n; s++)
				ring->slot[s] = (struct netmap_slot){ .buf_idx = first_buf(m, end, k) + s };
		}
		nm_ring_reset(ring, nmport_atok(&v, k), nmport_ktoa(&v, k), dir, n);
	}
}

int nmport_region_create(const char *name, const struct nmport_geom *g, struct nmport_region *r)
{
	struct nmport_mem m;
	char fdname[NMPORT_NAME_MAX + 16];
	int err;

	memset(&m, 0, sizeof(m));
	if (!nmport_name_ok(name) || !nmport_layout(g, &m))
		return -EINVAL;
	snprintf(m.name, sizeof(m.name), "%s", name);
	snprintf(fdname, sizeof(fdname), "modvmm-pipe:%s", name);

	r->fd = memfd_create(fdname, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (r->fd < 0)
		return -errno;
	if (ftruncate(r->fd, (off_t)m.size) < 0 ||
	    fcntl(r->fd, F_ADD_SEALS, SEALS_REQUIRED | F_SEAL_SEAL) < 0) {
		err = -errno;
		goto fail_fd;
	}
	r->base = mmap(NULL, m.size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->base == MAP_FAILED) {
		err = -errno;
		goto fail_fd;
	}
	r->mem = m;
	memcpy(r->base, &m, sizeof(m));
	for (unsigned e = 0; e < NMPORT_ENDS; e++)
		nmport_end_format(r, e, true);
	return 0;

fail_fd:
	close(r->fd);
	r->fd = -1;
	return err;
}

int nmport_region_open(int fd, struct nmport_region *r)
{
	struct stat st;
	int seals, err = -EPROTO;

	r->fd = fd;
	r->base = NULL;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto fail;
	}
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || (seals & SEALS_REQUIRED) != SEALS_REQUIRED ||
	    st.st_size < (off_t)NMPORT_PAGE_SIZE || (uint64_t)st.st_size > NMPORT_MAX_SIZE)
		goto fail;
	r->base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r->base == MAP_FAILED) {
		r->base = NULL;
		err = -errno;
		goto fail;
	}
	if (!nmport_mem_check((const struct nmport_mem *)r->base, (uint64_t)st.st_size, &r->mem) ||
	    !nmport_name_ok(r->mem.name)) {
		munmap(r->base, (size_t)st.st_size);
		r->base = NULL;
		goto fail;
	}
	return 0;

fail:
	close(fd);
	r->fd = -1;
	return err;
}

void nmport_region_close(struct nmport_region *r)
{
	if (r->base)
		munmap(r->base, r->mem.size);
	if (r->fd >= 0)
		close(r->fd);
	r->base = NULL;
	r->fd = -1;
}
