/* SPDX-License-Identifier: MIT */
/*
 * The virtio 1.2 modern PCI transport (§4.1), device-type agnostic.
 *
 * BAR0 (32-bit memory, trapped) holds the common configuration, ISR, device
 * configuration and notification regions, each announced by a vendor-specific
 * capability; BAR1 holds the MSI-X table and PBA (run by the core).  Each
 * queue's notify register is an ioeventfd (queue_notify_off = queue index); the
 * device's worker threads poll those fds.  Interrupts are irqfd writes on the
 * queue's MSI-X vector, or INTx with the ISR when MSI-X is off.
 *
 * Locking: `lock` serializes register accesses (vCPU threads) and the device
 * callbacks run under it.  The data path never takes `lock`:
 * vpci_notify_queue() and vpci_needs_reset() are lock-free.  Register accesses
 * through the VIRTIO_PCI_CAP_PCI_CFG window arrive with the core's function lock
 * held and only try to take `lock`, so code under `lock` may call host->pci_*
 * and wait for the device's threads.
 */
#ifndef VIRTIO_PCI_H
#define VIRTIO_PCI_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <modvmm/plugin.h>

#include "virtio.h"
#include "virtqueue.h"

/* PCI Local Bus 3.0: §6.7 capability list, §6.8.2 MSI-X, §6.2.1 class codes,
 * §6.2.4 interrupt pin. */
#define PCI_CFG_CAP_PTR       0x34
#define PCI_CAP_ID_MSIX       0x11
#define PCI_MSIX_CONTROL      2
#define PCI_MSIX_ENABLE       0x8000
#define PCI_CLASS_NETWORK     0x02
#define PCI_SUBCLASS_ETHERNET 0x00
#define PCI_INTA              1

/* BAR0 layout (ours; the capabilities tell the driver). */
#define VPCI_BAR              0
#define VPCI_BAR_SIZE         0x4000
#define VPCI_COMMON_OFF       0x0000
#define VPCI_ISR_OFF          0x1000
#define VPCI_ISR_LEN          4
#define VPCI_DEVCFG_OFF       0x2000
#define VPCI_DEVCFG_LEN       0x100
#define VPCI_NOTIFY_OFF       0x3000
#define VPCI_NOTIFY_MULT      4          /* notify_off_multiplier: one dword per queue */
#define VPCI_MSIX_BAR         1
#define VPCI_MSIX_BAR_SIZE    0x1000
#define VPCI_MSIX_TABLE_OFF   0x0000
#define VPCI_MSIX_PBA_OFF     0x0800
#define VPCI_MAX_QUEUES       ((VPCI_DEVCFG_OFF - VPCI_ISR_OFF) / VPCI_NOTIFY_MULT)

/* What the device type provides; called with the transport lock held. */
struct vpci_ops {
	/* Feature bits offered (VERSION_1 and ring features included). */
	uint64_t (*features)(void *opaque);
	/* May the driver use these features (a subset of the offer)?  Checks the
	 * device type's dependencies (§5.1.3.1 for net). */
	bool (*features_ok)(void *opaque, uint64_t features);
	/* Device configuration (§4.1.4.6), within VPCI_DEVCFG_LEN. */
	void (*cfg_read)(void *opaque, unsigned off, void *buf, unsigned len);
	void (*cfg_write)(void *opaque, unsigned off, const void *buf, unsigned len);
	/* DRIVER_OK was set: start the data path.  Non-zero: DEVICE_NEEDS_RESET. */
	int (*driver_ok)(void *opaque);
	/* Device reset: stop touching every queue and return to the initial device
	 * state; return when no thread uses the queues.  The transport resets the
	 * queues afterwards. */
	void (*reset)(void *opaque);
	/* A queue is enabled after DRIVER_OK: pause the data path around it. */
	void (*quiesce)(void *opaque);
	void (*resume)(void *opaque);
};

struct vpci_queue {
	struct vq *vq;
	_Atomic uint16_t vector;
	int kick_fd;                    /* the notify register's eventfd (owned by the core) */
	bool enabled;
};

struct vpci {
	const struct modvmm_host *host;
	struct modvmm_dev *dev;
	struct modvmm_pci *pci;
	const struct vpci_ops *ops;
	void *opaque;
	pthread_mutex_t lock;
	pthread_mutex_t intx_lock;      /* orders INTx level changes (never under `lock`) */
	unsigned nqueues;
	struct vpci_queue *q;
	unsigned devcfg_len;
	bool intx_level;                /* under intx_lock */
	unsigned nvec;
	int *vec_fd;                    /* MSI-X eventfds (owned by the core) */
	unsigned msix_cap;              /* config-space offset of the MSI-X capability, 0 if none */
	unsigned pcicfg_cap;            /* VIRTIO_PCI_CAP_PCI_CFG capability offset */
	uint8_t pcicfg[VIRTIO_PCI_CFG_CAP_LEN]; /* its bar/offset/length/data window */

	uint32_t dfselect, gfselect;
	uint64_t offered;
	uint64_t driver_features;
	uint64_t features;              /* accepted at FEATURES_OK */
	_Atomic uint8_t status;
	_Atomic uint8_t isr;
	_Atomic uint8_t generation;
	uint16_t queue_select;
	_Atomic uint16_t config_vector;
	_Atomic unsigned long irqs;     /* interrupts raised (statistics) */
	atomic_bool deferred_cfg_irq;   /* raised once `lock` is dropped */
};

struct vpci_params {
	uint16_t device_id;             /* virtio device id (§5) */
	uint8_t class_code, subclass;
	unsigned nqueues;
	struct vq **vqs;                /* vqs[i] is queue i */
	unsigned devcfg_len;            /* bytes of device configuration */
};

/* Register the PCI function, its BARs, capabilities, doorbells and MSI-X
 * vectors (nqueues + 1).  Returns 0 or -errno (logged). */
int vpci_init(struct vpci *v, const struct modvmm_host *host, struct modvmm_dev *dev, const struct vpci_params *p,
              const struct vpci_ops *ops, void *opaque) __attribute__((warn_unused_result));
void vpci_destroy(struct vpci *v);

/* Raise queue q's interrupt (any thread, lock-free). */
void vpci_notify_queue(struct vpci *v, unsigned q);
/* The device configuration changed (generation bump and config interrupt). */
void vpci_config_changed(struct vpci *v, bool interrupt);
/* Set DEVICE_NEEDS_RESET and tell the driver (any thread, lock-free). */
void vpci_needs_reset(struct vpci *v);

static inline bool vpci_has(const struct vpci *v, unsigned bit)
{
	return (v->features >> bit) & 1;
}

#endif
