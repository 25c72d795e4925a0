/* SPDX-License-Identifier: MIT */
/*
 * MSI-X (PCI Local Bus 3.0 §6.8.2): the capability, the vector table and the
 * pending-bit array inside trapped memory BARs, and delivery through KVM.
 *
 * Each vector owns an eventfd (the device-facing fd) and an MSI route on its own
 * GSI.  While the vector is deliverable (MSI-X enabled, function and vector
 * unmasked) the eventfd is bound to the GSI as an irqfd: a device thread raises
 * the interrupt with one write, without any work in modvmm.  Masking unbinds the
 * irqfd, so later writes stay counted in the eventfd; the pending bit is that
 * count, collected when the guest reads the PBA.  Unmasking binds the irqfd
 * again, and KVM delivers at once if the count is non-zero; a pending bit the
 * guest already observed is delivered by one more eventfd write.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "pci/pci.h"

/* Capability layout (§6.8.2.1-§6.8.2.5), offsets from the capability start. */
#define MSIX_CAP_CONTROL      2
#define MSIX_CAP_TABLE        4
#define MSIX_CAP_PBA          8
#define MSIX_CAP_LEN          12
#define MSIX_CONTROL_FMASK    0x4000u   /* function mask */
#define MSIX_CONTROL_ENABLE   0x8000u
#define MSIX_MAX_VECTORS      2048      /* table size field is 11 bits */
#define MSIX_BIR_MASK         0x7u      /* offsets are QWORD aligned; low bits hold the BAR */

/* Table entry layout (§6.8.2.6-§6.8.2.9). */
#define MSIX_ENTRY_SIZE       16
#define MSIX_ENTRY_DWORDS     4
#define MSIX_ENTRY_ADDR_LO    0
#define MSIX_ENTRY_ADDR_HI    1
#define MSIX_ENTRY_DATA       2
#define MSIX_ENTRY_CTRL       3
#define MSIX_ADDR_LO_MASK     0xfffffffcu /* message address is dword aligned */
#define MSIX_CTRL_MASKED      0x1u
#define MSIX_PBA_BITS         64          /* pending bits per QWORD */

struct msix_vector {
	uint32_t entry[MSIX_ENTRY_DWORDS];
	unsigned gsi;
	int fd;
	bool bound;        /* irqfd assigned */
	bool pending;      /* observed while masked, not yet delivered */
	bool failed;       /* a KVM error was logged */
};

struct pci_msix {
	unsigned nvec;
	unsigned cap;
	unsigned table_bar, pba_bar;
	uint64_t table_off, pba_off;
	struct msix_vector v[];
};

static uint64_t table_len(const struct pci_msix *m)
{
	return (uint64_t)m->nvec * MSIX_ENTRY_SIZE;
}

static uint64_t pba_len(const struct pci_msix *m)
{
	return (m->nvec + MSIX_PBA_BITS - 1) / MSIX_PBA_BITS * sizeof(uint64_t);
}

static uint16_t control(const struct modvmm_pci *pci)
{
	return (uint16_t)pci_cfg_get(&pci->cfg, pci->msix->cap + MSIX_CAP_CONTROL, 2);
}

/* Bind or unbind vector i to match the guest's masks (fn lock held). */
static void vec_update(struct modvmm_pci *pci, unsigned i)
{
	struct msix_vector *v = &pci->msix->v[i];
	struct irq_router *irq = &pci->bus->irq;
	uint16_t ctl = control(pci);
	/* An MSI is a memory write: without Bus Master Enable the message is held
	 * pending like a masked one (PCI Local Bus 3.0 §6.2.2, §6.8.1.3). */
	bool master = pci_cfg_get(&pci->cfg, PCI_CFG_COMMAND, 2) & PCI_CMD_MASTER;
	bool masked = !master || !(ctl & MSIX_CONTROL_ENABLE) || (ctl & MSIX_CONTROL_FMASK) ||
	              (v->entry[MSIX_ENTRY_CTRL] & MSIX_CTRL_MASKED);
	if (masked) {
		if (v->bound)
			irq_irqfd(irq, v->fd, v->gsi, -1, false);
		v->bound = false;
		return;
	}
	uint64_t addr = v->entry[MSIX_ENTRY_ADDR_LO] | (uint64_t)v->entry[MSIX_ENTRY_ADDR_HI] << 32;
	int ret = irq_msi_route(irq, v->gsi, addr, v->entry[MSIX_ENTRY_DATA]);
	if (!ret && !v->bound) {
		ret = irq_irqfd(irq, v->fd, v->gsi, -1, true);
		v->bound = ret == 0;
		if (v->bound && v->pending) {
			v->pending = false;
			eventfd_write(v->fd, 1);
		}
	}
	if (ret && !v->failed)
		pci_guest_warn(pci, "MSI-X vector %u (GSI %u): %s", i, v->gsi, strerror(-ret));
	v->failed = ret != 0;
}

/* Has the device signalled the (unbound) vector?  Consumes the count. */
static bool collect(struct msix_vector *v)
{
	uint64_t n;
	if (!v->bound && read(v->fd, &n, sizeof(n)) == sizeof(n) && n)
		v->pending = true;
	return v->pending;
}

static void table_write_dword(struct msix_vector *v, unsigned dw, uint32_t val)
{
	if (dw == MSIX_ENTRY_CTRL)
		val &= MSIX_CTRL_MASKED;     /* other vector control bits are reserved */
	else if (dw == MSIX_ENTRY_ADDR_LO)
		val &= MSIX_ADDR_LO_MASK;
	v->entry[dw] = val;
}

/* DWORD or aligned QWORD accesses only (§6.8.2); others are dropped. */
static bool access_ok(uint64_t off, unsigned size)
{
	return (size == 4 || size == 8) && !(off & (size - 1));
}

static void table_access(struct modvmm_pci *pci, uint64_t off, unsigned size, bool write, uint64_t *value)
{
	if (!access_ok(off, size)) {
		if (!write)
			*value = 0;
		return;
	}
	struct msix_vector *v = &pci->msix->v[off / MSIX_ENTRY_SIZE];
	unsigned dw = (unsigned)(off % MSIX_ENTRY_SIZE) / sizeof(uint32_t);
	if (!write) {
		*value = v->entry[dw] | (size == 8 ? (uint64_t)v->entry[dw + 1] << 32 : 0);
		return;
	}
	table_write_dword(v, dw, (uint32_t)*value);
	if (size == 8)
		table_write_dword(v, dw + 1, (uint32_t)(*value >> 32));
	vec_update(pci, (unsigned)(off / MSIX_ENTRY_SIZE));
}

static void pba_read(struct modvmm_pci *pci, uint64_t off, unsigned size, uint64_t *value)
{
	*value = 0;
	if (!access_ok(off, size))
		return;
	for (unsigned bit = 0; bit < size * 8; bit++) {
		uint64_t vec = off * 8 + bit;
		if (vec < pci->msix->nvec && collect(&pci->msix->v[vec]))
			*value |= 1ULL << bit;
	}
}

bool msix_bar_access(struct modvmm_pci *pci, unsigned idx, uint64_t off, unsigned size, bool write, uint64_t *value)
{
	struct pci_msix *m = pci->msix;
	if (!m)
		return false;
	bool table = idx == m->table_bar && off >= m->table_off && off - m->table_off < table_len(m);
	bool pba = !table && idx == m->pba_bar && off >= m->pba_off && off - m->pba_off < pba_len(m);
	if (!table && !pba)
		return false;
	pthread_mutex_lock(&pci->lock);
	if (table)
		table_access(pci, off - m->table_off, size, write, value);
	else if (!write)     /* the PBA is read-only */
		pba_read(pci, off - m->pba_off, size, value);
	pthread_mutex_unlock(&pci->lock);
	return true;
}

bool msix_cap_touched(const struct modvmm_pci *pci, unsigned off, unsigned size)
{
	return pci->msix && off < pci->msix->cap + MSIX_CAP_LEN && pci->msix->cap < off + size;
}

void msix_control_written(struct modvmm_pci *pci)
{
	for (unsigned i = 0; i < pci->msix->nvec; i++)
		vec_update(pci, i);
}

unsigned msix_vectors(const struct modvmm_pci *pci)
{
	return pci->msix ? pci->msix->nvec : 0;
}

void msix_describe(const struct modvmm_pci *pci, char *buf, size_t len)
{
	const struct pci_msix *m = pci->msix;
	if (!m) {
		snprintf(buf, len, "%s", "");
		return;
	}
	snprintf(buf, len, "MSI-X %u vector%s (table BAR%u+0x%llx, PBA BAR%u+0x%llx, GSI %u-%u)", m->nvec,
	         m->nvec == 1 ? "" : "s", m->table_bar, (unsigned long long)m->table_off, m->pba_bar,
	         (unsigned long long)m->pba_off, m->v[0].gsi, m->v[m->nvec - 1].gsi);
}

static bool bar_can_hold(const struct modvmm_pci *pci, unsigned idx, uint64_t off, uint64_t len)
{
	if (idx >= PCI_NUM_BARS)
		return false;
	const struct pci_bar_state *b = &pci->bar[idx];
	return b->present && !b->upper && b->desc.backing == MODVMM_BAR_TRAPPED && b->desc.type != MODVMM_BAR_IO &&
	       !(off & MSIX_BIR_MASK) && off <= UINT32_MAX && off < b->desc.size && len <= b->desc.size - off;
}

static void vectors_free(struct modvmm_pci *pci, struct pci_msix *m)
{
	for (unsigned i = 0; i < m->nvec; i++) {
		if (m->v[i].bound)
			irq_irqfd(&pci->bus->irq, m->v[i].fd, m->v[i].gsi, -1, false);
		if (m->v[i].fd >= 0)
			close(m->v[i].fd);
	}
	free(m);
}

void msix_reset(struct modvmm_pci *pci)
{
	struct pci_msix *m = pci->msix;
	uint16_t ctl = control(pci) & (uint16_t)~(MSIX_CONTROL_ENABLE | MSIX_CONTROL_FMASK);
	pci_cfg_set(&pci->cfg, m->cap + MSIX_CAP_CONTROL, 2, ctl);
	for (unsigned i = 0; i < m->nvec; i++) {
		struct msix_vector *v = &m->v[i];
		memset(v->entry, 0, sizeof(v->entry));
		v->entry[MSIX_ENTRY_CTRL] = MSIX_CTRL_MASKED;
		vec_update(pci, i);
		uint64_t n;
		(void)!read(v->fd, &n, sizeof(n));   /* what the device signalled before is dropped */
		v->pending = false;
	}
}

void msix_free(struct modvmm_pci *pci)
{
	if (pci->msix)
		vectors_free(pci, pci->msix);
	pci->msix = NULL;
}

unsigned msix_bar_pages(const struct modvmm_pci *pci, unsigned idx, uint64_t off[2], uint64_t len[2])
{
	const struct pci_msix *m = pci->msix;
	unsigned n = 0;
	if (!m)
		return 0;
	uint64_t o[2] = { m->table_off, m->pba_off }, l[2] = { table_len(m), pba_len(m) };
	unsigned bar[2] = { m->table_bar, m->pba_bar };
	for (unsigned i = 0; i < 2; i++) {
		if (bar[i] != idx)
			continue;
		uint64_t start = o[i] & ~(PCI_PAGE_SIZE - 1);
		uint64_t end = (o[i] + l[i] + PCI_PAGE_SIZE - 1) & ~(PCI_PAGE_SIZE - 1);
		off[n] = start;
		len[n++] = end - start;
	}
	return n;
}

int pci_msix_init(struct modvmm_pci *pci, unsigned nvec, unsigned table_bar, uint64_t table_off,
                  unsigned pba_bar, uint64_t pba_off)
{
	if (!pci || nvec == 0 || nvec > MSIX_MAX_VECTORS)
		return -EINVAL;
	struct pci_msix *m = calloc(1, sizeof(*m) + nvec * sizeof(m->v[0]));
	if (!m)
		return -ENOMEM;
	*m = (struct pci_msix){ .nvec = nvec, .table_bar = table_bar, .pba_bar = pba_bar,
	                        .table_off = table_off, .pba_off = pba_off };
	for (unsigned i = 0; i < nvec; i++)
		m->v[i] = (struct msix_vector){ .fd = -1, .entry[MSIX_ENTRY_CTRL] = MSIX_CTRL_MASKED };
	pthread_mutex_lock(&pci->lock);
	int ret = 0;
	if (pci->msix)
		ret = -EEXIST;
	else if (!bar_can_hold(pci, table_bar, table_off, table_len(m)) || !bar_can_hold(pci, pba_bar, pba_off, pba_len(m)))
		ret = -EINVAL;
	else if (table_bar == pba_bar && table_off < pba_off + pba_len(m) && pba_off < table_off + table_len(m))
		ret = -EINVAL;
	unsigned gsi = 0;
	if (!ret)
		ret = irq_gsi_alloc(&pci->bus->irq, nvec, &gsi);
	for (unsigned i = 0; !ret && i < nvec; i++) {
		m->v[i].gsi = gsi + i;
		m->v[i].fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (m->v[i].fd < 0)
			ret = -errno;
	}
	uint8_t body[MSIX_CAP_LEN - PCI_CAP_HDR_LEN];
	uint16_t ctl = (uint16_t)(nvec - 1);
	uint32_t tbl = (uint32_t)table_off | table_bar, pba = (uint32_t)pba_off | pba_bar;
	memcpy(body + MSIX_CAP_CONTROL - PCI_CAP_HDR_LEN, &ctl, sizeof(ctl));     /* x86: little endian */
	memcpy(body + MSIX_CAP_TABLE - PCI_CAP_HDR_LEN, &tbl, sizeof(tbl));
	memcpy(body + MSIX_CAP_PBA - PCI_CAP_HDR_LEN, &pba, sizeof(pba));
	if (!ret)
		ret = pci_cfg_cap_add(&pci->cfg, PCI_CAP_ID_MSIX, body, sizeof(body), &m->cap);
	if (ret) {
		vectors_free(pci, m);
		pthread_mutex_unlock(&pci->lock);
		return ret;
	}
	pci_cfg_set_wmask(&pci->cfg, m->cap + MSIX_CAP_CONTROL, 2, MSIX_CONTROL_ENABLE | MSIX_CONTROL_FMASK);
	pci->msix = m;
	pthread_mutex_lock(&pci->bus->map_lock);
	pci->bar[table_bar].msix = pci->bar[pba_bar].msix = true;
	pthread_mutex_unlock(&pci->bus->map_lock);
	pci_bar_remap(&pci->bar[table_bar]);
	if (pba_bar != table_bar)
		pci_bar_remap(&pci->bar[pba_bar]);
	pthread_mutex_unlock(&pci->lock);
	return 0;
}

int pci_msix_fd(struct modvmm_pci *pci, unsigned vec)
{
	if (!pci || !pci->msix || vec >= pci->msix->nvec)
		return -EINVAL;
	return pci->msix->v[vec].fd;
}

int pci_msix_notify(struct modvmm_pci *pci, unsigned vec)
{
	if (!pci || !pci->msix || vec >= pci->msix->nvec)
		return -EINVAL;
	return eventfd_write(pci->msix->v[vec].fd, 1) ? -errno : 0;
}
