/* SPDX-License-Identifier: MIT */
#include "virtio_pci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define vlog(v, lvl, ...) ((v)->host->log((v)->dev, (lvl), __VA_ARGS__))

/* ---- interrupts ------------------------------------------------------------ */

static bool msix_enabled(struct vpci *v)
{
	return v->msix_cap &&
	       (v->host->pci_config_read(v->pci, v->msix_cap + PCI_MSIX_CONTROL, 2) & PCI_MSIX_ENABLE);
}

/* Drive INTx from the ISR.  Never called with `lock` held (see virtio_pci.h). */
static void intx_update(struct vpci *v)
{
	if (!v->host->pci_intx)
		return;
	pthread_mutex_lock(&v->intx_lock);
	bool level = atomic_load(&v->isr) != 0;
	if (level != v->intx_level && v->host->pci_intx(v->pci, level) == 0)
		v->intx_level = level;
	pthread_mutex_unlock(&v->intx_lock);
}

static void raise(struct vpci *v, uint16_t vec, uint8_t isr_bit)
{
	if (vec < v->nvec) {
		eventfd_write(v->vec_fd[vec], 1); /* irqfd: counted while masked, delivered on unmask */
		atomic_fetch_add_explicit(&v->irqs, 1, memory_order_relaxed);
	} else if (vec == VIRTIO_MSI_NO_VECTOR && !msix_enabled(v)) {
		atomic_fetch_or(&v->isr, isr_bit);
		intx_update(v);
		atomic_fetch_add_explicit(&v->irqs, 1, memory_order_relaxed);
	}
}

void vpci_notify_queue(struct vpci *v, unsigned q)
{
	raise(v, atomic_load_explicit(&v->q[q].vector, memory_order_relaxed), VIRTIO_PCI_ISR_QUEUE);
}

void vpci_config_changed(struct vpci *v, bool interrupt)
{
	atomic_fetch_add(&v->generation, 1);
	if (interrupt && (atomic_load(&v->status) & VIRTIO_STATUS_DRIVER_OK))
		raise(v, atomic_load(&v->config_vector), VIRTIO_PCI_ISR_CONFIG);
}

/* With `lock` held the configuration interrupt waits until bar_access() drops it. */
static void needs_reset(struct vpci *v, bool locked)
{
	uint8_t old = atomic_fetch_or(&v->status, VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	if (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return;
	vlog(v, MODVMM_LOG_WARN, "device needs reset (status 0x%x)", old | VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* §2.1.2: the device SHOULD send a configuration change notification */
	if (locked) {
		atomic_fetch_add(&v->generation, 1);
		atomic_store(&v->deferred_cfg_irq, true);
	} else {
		vpci_config_changed(v, true);
	}
}

void vpci_needs_reset(struct vpci *v)
{
	needs_reset(v, false);
}

/* ---- common configuration (§4.1.4.3) -------------------------------------- */

static uint32_t half(uint64_t v, bool hi)
{
	return (uint32_t)(hi ? v >> 32 : v);
}

static void set_half(uint64_t *v, bool hi, uint32_t val)
{
	*v = hi ? (*v & 0xffffffffull) | (uint64_t)val << 32 : (*v & ~0xffffffffull) | val;
}

/* Width of the field at `off`, 0 when none starts there. */
static unsigned field_size(unsigned off)
{
	switch (off) {
	case VIRTIO_PCI_COMMON_STATUS:
	case VIRTIO_PCI_COMMON_CFGGENERATION:
		return 1;
	case VIRTIO_PCI_COMMON_MSIX: case VIRTIO_PCI_COMMON_NUMQ: case VIRTIO_PCI_COMMON_Q_SELECT:
	case VIRTIO_PCI_COMMON_Q_SIZE: case VIRTIO_PCI_COMMON_Q_MSIX: case VIRTIO_PCI_COMMON_Q_ENABLE:
	case VIRTIO_PCI_COMMON_Q_NOFF: case VIRTIO_PCI_COMMON_Q_NDATA: case VIRTIO_PCI_COMMON_Q_RESET:
		return 2;
	case VIRTIO_PCI_COMMON_DFSELECT: case VIRTIO_PCI_COMMON_DF: case VIRTIO_PCI_COMMON_GFSELECT:
	case VIRTIO_PCI_COMMON_GF: case VIRTIO_PCI_COMMON_Q_DESCLO: case VIRTIO_PCI_COMMON_Q_DESCHI:
	case VIRTIO_PCI_COMMON_Q_AVAILLO: case VIRTIO_PCI_COMMON_Q_AVAILHI: case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		return 4;
	}
	return 0;
}

static uint64_t *queue_addr(struct vq *vq, unsigned off)
{
	if (off < VIRTIO_PCI_COMMON_Q_AVAILLO)
		return &vq->desc_gpa;
	return off < VIRTIO_PCI_COMMON_Q_USEDLO ? &vq->avail_gpa : &vq->used_gpa;
}

static uint32_t common_read(struct vpci *v, unsigned off)
{
	struct vpci_queue *q = v->queue_select < v->nqueues ? &v->q[v->queue_select] : NULL;
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT: return v->dfselect;
	case VIRTIO_PCI_COMMON_DF: return v->dfselect < 2 ? half(v->offered, v->dfselect) : 0;
	case VIRTIO_PCI_COMMON_GFSELECT: return v->gfselect;
	case VIRTIO_PCI_COMMON_GF: return v->gfselect < 2 ? half(v->driver_features, v->gfselect) : 0;
	case VIRTIO_PCI_COMMON_MSIX: return atomic_load(&v->config_vector);
	case VIRTIO_PCI_COMMON_NUMQ: return v->nqueues;
	case VIRTIO_PCI_COMMON_STATUS: return atomic_load(&v->status);
	case VIRTIO_PCI_COMMON_CFGGENERATION: return atomic_load(&v->generation);
	case VIRTIO_PCI_COMMON_Q_SELECT: return v->queue_select;
	case VIRTIO_PCI_COMMON_Q_RESET: return 0;
	}
	if (!q)
		return off == VIRTIO_PCI_COMMON_Q_MSIX ? VIRTIO_MSI_NO_VECTOR : 0;
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE: return q->vq->num;
	case VIRTIO_PCI_COMMON_Q_MSIX: return atomic_load(&q->vector);
	case VIRTIO_PCI_COMMON_Q_ENABLE: return q->enabled;
	case VIRTIO_PCI_COMMON_Q_NOFF:
	case VIRTIO_PCI_COMMON_Q_NDATA: return v->queue_select;
	case VIRTIO_PCI_COMMON_Q_DESCLO: case VIRTIO_PCI_COMMON_Q_AVAILLO: case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_DESCHI: case VIRTIO_PCI_COMMON_Q_AVAILHI: case VIRTIO_PCI_COMMON_Q_USEDHI:
		return half(*queue_addr(q->vq, off), (off & 4) != 0);
	}
	return 0;
}

/* Back to the state after power-on (§2.1.2, §4.1.4.3.2).  Lock held. */
static void device_reset(struct vpci *v)
{
	v->ops->reset(v->opaque);
	for (unsigned i = 0; i < v->nqueues; i++) {
		vq_reset(v->q[i].vq);
		atomic_store(&v->q[i].vector, VIRTIO_MSI_NO_VECTOR);
		v->q[i].enabled = false;
		uint64_t n;
		if (v->q[i].kick_fd >= 0 && read(v->q[i].kick_fd, &n, sizeof(n)) < 0)
			n = 0; /* stale kicks from before the reset are dropped */
	}
	v->dfselect = v->gfselect = 0;
	v->driver_features = v->features = 0;
	v->queue_select = 0;
	atomic_store(&v->config_vector, VIRTIO_MSI_NO_VECTOR);
	atomic_store(&v->isr, 0);
	atomic_store(&v->status, 0);
}

static void queue_enable(struct vpci *v, struct vpci_queue *q)
{
	bool live = atomic_load(&v->status) & VIRTIO_STATUS_DRIVER_OK;
	if (live)
		v->ops->quiesce(v->opaque);
	q->vq->event_idx = vpci_has(v, VIRTIO_F_RING_EVENT_IDX);
	q->vq->indirect = vpci_has(v, VIRTIO_F_RING_INDIRECT_DESC);
	q->enabled = true;
	if (vq_start(q->vq))
		needs_reset(v, true);
	if (live)
		v->ops->resume(v->opaque);
}

static void status_write(struct vpci *v, uint8_t val)
{
	if (val == 0) {
		device_reset(v);
		return;
	}
	uint8_t old = atomic_load(&v->status);
	if ((val & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		uint64_t f = v->driver_features;
		if ((f & ~v->offered) || !(f & VIRTIO_BIT(VIRTIO_F_VERSION_1)) || !v->ops->features_ok(v->opaque, f)) {
			vlog(v, MODVMM_LOG_WARN, "driver features 0x%llx refused (offered 0x%llx)", (unsigned long long)f,
			     (unsigned long long)v->offered);
			val &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
		} else {
			v->features = f;
		}
	}
	if (!(val & VIRTIO_STATUS_FEATURES_OK) && (old & VIRTIO_STATUS_FEATURES_OK))
		val |= VIRTIO_STATUS_FEATURES_OK; /* only a reset takes it back */
	if ((val & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		if (!(val & VIRTIO_STATUS_FEATURES_OK)) {
			vlog(v, MODVMM_LOG_WARN, "DRIVER_OK without FEATURES_OK ignored");
			val &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
		} else {
			atomic_store(&v->status, (uint8_t)(val | (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET)));
			if (v->ops->driver_ok(v->opaque))
				needs_reset(v, true);
			return;
		}
	}
	atomic_store(&v->status, (uint8_t)(val | (atomic_load(&v->status) & VIRTIO_STATUS_DEVICE_NEEDS_RESET)));
}

static void common_write(struct vpci *v, unsigned off, uint32_t val)
{
	struct vpci_queue *q = v->queue_select < v->nqueues ? &v->q[v->queue_select] : NULL;
	bool features_fixed = atomic_load(&v->status) & VIRTIO_STATUS_FEATURES_OK;
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT: v->dfselect = val; return;
	case VIRTIO_PCI_COMMON_GFSELECT: v->gfselect = val; return;
	case VIRTIO_PCI_COMMON_GF:
		if (v->gfselect < 2 && !features_fixed)
			set_half(&v->driver_features, v->gfselect, val);
		return;
	case VIRTIO_PCI_COMMON_MSIX:
		atomic_store(&v->config_vector, val < v->nvec ? (uint16_t)val : VIRTIO_MSI_NO_VECTOR);
		return;
	case VIRTIO_PCI_COMMON_STATUS: status_write(v, (uint8_t)val); return;
	case VIRTIO_PCI_COMMON_Q_SELECT: v->queue_select = (uint16_t)val; return;
	}
	if (!q)
		return;
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_MSIX:
		atomic_store(&q->vector, val < v->nvec ? (uint16_t)val : VIRTIO_MSI_NO_VECTOR);
		return;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		if (val == 1 && !q->enabled)
			queue_enable(v, q);
		return;
	}
	if (q->enabled)
		return; /* §4.1.4.3.2: size and addresses are fixed once enabled */
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		q->vq->num = (uint16_t)val;
		return;
	case VIRTIO_PCI_COMMON_Q_DESCLO: case VIRTIO_PCI_COMMON_Q_AVAILLO: case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_DESCHI: case VIRTIO_PCI_COMMON_Q_AVAILHI: case VIRTIO_PCI_COMMON_Q_USEDHI:
		set_half(queue_addr(q->vq, off), (off & 4) != 0, val);
		return;
	}
}

/* ---- BAR0 ------------------------------------------------------------------------ */

/* Take `lock`.  Through VIRTIO_PCI_CAP_PCI_CFG the core already holds its function
 * lock, while a holder of `lock` may wait for a worker that needs the function
 * lock: that path only tries for a while and then drops the access. */
#define CFG_PATH_TRIES 1000
#define CFG_PATH_WAIT_US 10

static bool regs_lock(struct vpci *v, bool cfg_path)
{
	if (!cfg_path) {
		pthread_mutex_lock(&v->lock);
		return true;
	}
	for (unsigned i = 0; i < CFG_PATH_TRIES; i++) {
		if (pthread_mutex_trylock(&v->lock) == 0)
			return true;
		usleep(CFG_PATH_WAIT_US);
	}
	return false;
}

/* One access to BAR0.  `cfg_path`: reached through VIRTIO_PCI_CAP_PCI_CFG with the
 * core's function lock held: the ISR read then has no INTx side effect. */
static void bar_access(struct vpci *v, uint64_t off, unsigned size, bool write, uint64_t *val, bool cfg_path)
{
	if (!write)
		*val = 0;
	if (off < VPCI_COMMON_OFF + VIRTIO_PCI_COMMON_SIZE) {
		unsigned o = (unsigned)off, fs = field_size(o);
		bool split64 = size == 8 && fs == 4 && o >= VIRTIO_PCI_COMMON_Q_DESCLO && !(o & 4);
		if ((fs != size && !split64) || !regs_lock(v, cfg_path))
			return; /* not a whole field: ignored */
		if (write) {
			common_write(v, o, (uint32_t)*val);
			if (split64)
				common_write(v, o + 4, (uint32_t)(*val >> 32));
		} else {
			*val = common_read(v, o);
			if (split64)
				*val |= (uint64_t)common_read(v, o + 4) << 32;
		}
		bool reset = write && o == VIRTIO_PCI_COMMON_STATUS && *val == 0;
		pthread_mutex_unlock(&v->lock);
		if (reset && !cfg_path)
			intx_update(v);
		if (!cfg_path && atomic_exchange(&v->deferred_cfg_irq, false))
			raise(v, atomic_load(&v->config_vector), VIRTIO_PCI_ISR_CONFIG);
	} else if (off >= VPCI_ISR_OFF && off < VPCI_ISR_OFF + VPCI_ISR_LEN) {
		if (write || off != VPCI_ISR_OFF)
			return;
		if (cfg_path) {
			*val = atomic_load(&v->isr);
			return;
		}
		*val = atomic_exchange(&v->isr, 0); /* §4.1.4.5: reading clears it */
		intx_update(v);
	} else if (off >= VPCI_DEVCFG_OFF && off + size <= VPCI_DEVCFG_OFF + v->devcfg_len) {
		if (!regs_lock(v, cfg_path))
			return;
		if (write)
			v->ops->cfg_write(v->opaque, (unsigned)(off - VPCI_DEVCFG_OFF), val, size);
		else
			v->ops->cfg_read(v->opaque, (unsigned)(off - VPCI_DEVCFG_OFF), val, size);
		pthread_mutex_unlock(&v->lock);
	} else if (off >= VPCI_NOTIFY_OFF && write) {
		/* a notify write the ioeventfd did not catch (other width): kick by hand */
		uint64_t q = (off - VPCI_NOTIFY_OFF) / VPCI_NOTIFY_MULT;
		if (q < v->nqueues && v->q[q].kick_fd >= 0)
			eventfd_write(v->q[q].kick_fd, 1);
	}
}

static uint64_t bar_read(void *opaque, uint64_t off, unsigned size)
{
	uint64_t v;
	bar_access(opaque, off, size, false, &v, false);
	return v;
}

static void bar_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	bar_access(opaque, off, size, true, &value, false);
}

static const struct modvmm_io_ops bar_ops = { .read = bar_read, .write = bar_write };

/* ---- VIRTIO_PCI_CAP_PCI_CFG: BAR access through configuration space (§4.1.4.9) ---- */

static bool in_pcicfg(const struct vpci *v, unsigned off, unsigned size)
{
	return v->pcicfg_cap && off >= v->pcicfg_cap + VIRTIO_PCI_CAP_BAR &&
	       off + size <= v->pcicfg_cap + VIRTIO_PCI_CFG_CAP_LEN;
}

/* The window: bar/offset/length fields; data accesses go to BAR0. */
static bool window_access(struct vpci *v, unsigned rel, unsigned size, bool write, uint32_t *val)
{
	if (rel < VIRTIO_PCI_CFG_DATA)
		return false;
	uint32_t off, len;
	memcpy(&off, v->pcicfg + VIRTIO_PCI_CAP_OFFSET, sizeof(off));
	memcpy(&len, v->pcicfg + VIRTIO_PCI_CAP_LENGTH, sizeof(len));
	uint64_t x = write ? *val : 0;
	if (v->pcicfg[VIRTIO_PCI_CAP_BAR] == VPCI_BAR && len == size && rel == VIRTIO_PCI_CFG_DATA &&
	    (len == 1 || len == 2 || len == 4) && off % len == 0 && off < VPCI_BAR_SIZE)
		bar_access(v, off, size, write, &x, true);
	if (!write)
		*val = (uint32_t)x;
	return true;
}

static int cfg_hook_read(void *opaque, unsigned off, unsigned size, uint32_t *value)
{
	struct vpci *v = opaque;
	if (!in_pcicfg(v, off, size))
		return -ENOENT;
	unsigned rel = off - v->pcicfg_cap;
	if (!window_access(v, rel, size, false, value)) {
		*value = 0;
		memcpy(value, v->pcicfg + rel, size);
	}
	return 0;
}

static int cfg_hook_write(void *opaque, unsigned off, unsigned size, uint32_t value)
{
	struct vpci *v = opaque;
	if (!in_pcicfg(v, off, size))
		return -ENOENT;
	unsigned rel = off - v->pcicfg_cap;
	if (!window_access(v, rel, size, true, &value) && rel + size <= VIRTIO_PCI_CFG_DATA)
		memcpy(v->pcicfg + rel, &value, size); /* bar, offset, length: the driver's to set */
	return 0;
}

static const struct modvmm_pci_cfg_ops cfg_hooks = { .read = cfg_hook_read, .write = cfg_hook_write };

/* ---- set-up ----------------------------------------------------------------------- */

static int add_cap(struct vpci *v, uint8_t type, uint32_t off, uint32_t len, unsigned *where)
{
	struct virtio_pci_cap_body c = {
		.cap_len = VIRTIO_PCI_CAP_LEN, .cfg_type = type, .bar = VPCI_BAR, .offset = off, .length = len,
	};
	unsigned body_len = VIRTIO_PCI_CAP_LEN - 2, at;
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
		c.cap_len = VIRTIO_PCI_NOTIFY_CAP_LEN;
		c.notify_off_multiplier = VPCI_NOTIFY_MULT;
		body_len = VIRTIO_PCI_NOTIFY_CAP_LEN - 2;
	} else if (type == VIRTIO_PCI_CAP_PCI_CFG) {
		c.cap_len = VIRTIO_PCI_CFG_CAP_LEN;
		c.bar = 0;
		body_len = VIRTIO_PCI_CFG_CAP_LEN - 2; /* pci_cfg_data: the trailing 4 bytes, zero */
	}
	int ret = v->host->pci_cap_add(v->pci, PCI_CAP_ID_VNDR, &c, body_len, &at);
	if (where)
		*where = at;
	return ret;
}

static unsigned find_cap(struct vpci *v, uint8_t id)
{
	unsigned off = v->host->pci_config_read(v->pci, PCI_CFG_CAP_PTR, 1);
	for (unsigned hops = 0; off >= 0x40 && hops < 48; hops++) {
		if (v->host->pci_config_read(v->pci, off, 1) == id)
			return off;
		off = v->host->pci_config_read(v->pci, off + 1, 1);
	}
	return 0;
}

int vpci_init(struct vpci *v, const struct modvmm_host *host, struct modvmm_dev *dev, const struct vpci_params *p,
              const struct vpci_ops *ops, void *opaque)
{
	*v = (struct vpci){ .host = host, .dev = dev, .ops = ops, .opaque = opaque, .nqueues = p->nqueues,
	                    .devcfg_len = p->devcfg_len };
	pthread_mutex_init(&v->lock, NULL);
	pthread_mutex_init(&v->intx_lock, NULL);
	atomic_init(&v->config_vector, VIRTIO_MSI_NO_VECTOR);
	if (p->nqueues > VPCI_MAX_QUEUES || p->devcfg_len > VPCI_DEVCFG_LEN)
		return -EINVAL;
	v->q = calloc(p->nqueues, sizeof(*v->q));
	v->nvec = p->nqueues + 1;
	v->vec_fd = calloc(v->nvec, sizeof(*v->vec_fd));
	if (!v->q || !v->vec_fd)
		return -ENOMEM;
	for (unsigned i = 0; i < p->nqueues; i++) {
		v->q[i] = (struct vpci_queue){ .vq = p->vqs[i], .kick_fd = -1 };
		atomic_init(&v->q[i].vector, VIRTIO_MSI_NO_VECTOR);
	}
	v->offered = ops->features(opaque);

	struct modvmm_pci_id id = {
		.vendor = VIRTIO_PCI_VENDOR_ID, .device = (uint16_t)(VIRTIO_PCI_DEVICE_ID_BASE + p->device_id),
		.subsys_vendor = VIRTIO_PCI_VENDOR_ID, .subsys_id = VIRTIO_PCI_SUBSYS_ID,
		.class_code = p->class_code, .subclass = p->subclass, .revision = VIRTIO_PCI_REVISION,
		.irq_pin = PCI_INTA,
	};
	struct modvmm_bar bar0 = { .type = MODVMM_BAR_MEM32, .size = VPCI_BAR_SIZE, .backing = MODVMM_BAR_TRAPPED,
	                           .ops = &bar_ops, .opaque = v };
	struct modvmm_bar bar1 = { .type = MODVMM_BAR_MEM32, .size = VPCI_MSIX_BAR_SIZE,
	                           .backing = MODVMM_BAR_TRAPPED };
	int ret = host->pci_register(dev, &id, &cfg_hooks, v, &v->pci);
	if (!ret)
		ret = host->pci_bar(v->pci, VPCI_BAR, &bar0);
	if (!ret)
		ret = host->pci_bar(v->pci, VPCI_MSIX_BAR, &bar1);
	if (!ret)
		ret = add_cap(v, VIRTIO_PCI_CAP_COMMON_CFG, VPCI_COMMON_OFF, VIRTIO_PCI_COMMON_SIZE, NULL);
	if (!ret)
		ret = add_cap(v, VIRTIO_PCI_CAP_NOTIFY_CFG, VPCI_NOTIFY_OFF, p->nqueues * VPCI_NOTIFY_MULT, NULL);
	if (!ret)
		ret = add_cap(v, VIRTIO_PCI_CAP_ISR_CFG, VPCI_ISR_OFF, VPCI_ISR_LEN, NULL);
	if (!ret)
		ret = add_cap(v, VIRTIO_PCI_CAP_DEVICE_CFG, VPCI_DEVCFG_OFF, p->devcfg_len, NULL);
	if (!ret)
		ret = add_cap(v, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, &v->pcicfg_cap);
	if (!ret)
		ret = host->pci_msix_init(v->pci, v->nvec, VPCI_MSIX_BAR, VPCI_MSIX_TABLE_OFF, VPCI_MSIX_BAR,
		                          VPCI_MSIX_PBA_OFF);
	for (unsigned i = 0; !ret && i < v->nvec; i++) {
		v->vec_fd[i] = host->pci_msix_fd(v->pci, i);
		ret = v->vec_fd[i] < 0 ? v->vec_fd[i] : 0;
	}
	for (unsigned i = 0; !ret && i < p->nqueues; i++) {
		uint64_t off = VPCI_NOTIFY_OFF + (uint64_t)i * VPCI_NOTIFY_MULT;
		/* any width (KVM fast MMIO) when the host has it, else the 16-bit index write */
		ret = host->pci_doorbell(v->pci, VPCI_BAR, off, 0, false, 0, NULL, NULL, &v->q[i].kick_fd);
		if (ret == -ENOTSUP)
			ret = host->pci_doorbell(v->pci, VPCI_BAR, off, 2, false, 0, NULL, NULL, &v->q[i].kick_fd);
	}
	if (ret) {
		vlog(v, MODVMM_LOG_ERROR, "PCI setup failed: %s", strerror(-ret));
		return ret;
	}
	v->msix_cap = find_cap(v, PCI_CAP_ID_MSIX);
	return 0;
}

void vpci_destroy(struct vpci *v)
{
	free(v->q);
	free(v->vec_fd);
	v->q = NULL;
	v->vec_fd = NULL;
	pthread_mutex_destroy(&v->lock);
	pthread_mutex_destroy(&v->intx_lock);
}
