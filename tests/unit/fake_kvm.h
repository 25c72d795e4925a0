/* SPDX-License-Identifier: MIT */
/* A struct kvm_ops that records memslots, ioeventfds, irqfds, GSI routing and
 * interrupt lines, and a PCI bus built on it, for unit tests without /dev/kvm. */
#ifndef FAKE_KVM_H
#define FAKE_KVM_H

#include <stdbool.h>
#include <stdint.h>

#include "vm/evloop.h"
#include "vm/iobus.h"
#include "vm/kvmops.h"
#include "mem/mem.h"
#include "pci/pci.h"

#define FAKE_MAX 64

struct fake_slot {
	bool used;
	uint64_t gpa, size;
	void *hva;
};

struct fake_irqfd {
	int fd;
	unsigned gsi;
	int resamplefd;
};

struct fake_kvm {
	struct fake_slot slots[FAKE_MAX];
	struct kvm_ioeventfd ioev[FAKE_MAX];   /* assigned */
	unsigned nioev;
	struct fake_irqfd irqfd[FAKE_MAX];     /* assigned */
	unsigned nirqfd;
	struct kvm_irq_routing *routing;       /* last committed table */
	unsigned commits;
	int line[32];
	int max_routes;                        /* KVM_CAP_IRQ_ROUTING */
	int any_length;                        /* KVM_CAP_IOEVENTFD_ANY_LENGTH */
};

extern const struct kvm_ops fake_kvm_ops;

/* Active memslot covering gpa, or NULL. */
const struct fake_slot *fake_slot_at(const struct fake_kvm *k, uint64_t gpa);
unsigned fake_slots_used(const struct fake_kvm *k);
/* Assigned ioeventfd at addr, or NULL. */
const struct kvm_ioeventfd *fake_ioev_at(const struct fake_kvm *k, uint64_t addr);
/* Assigned irqfd for fd, or NULL. */
const struct fake_irqfd *fake_irqfd_of(const struct fake_kvm *k, int fd);
/* Committed MSI route of gsi, or NULL. */
const struct kvm_irq_routing_entry *fake_route(const struct fake_kvm *k, unsigned gsi, uint32_t type);

/* A bus on fake KVM: 256 MiB of RAM at 0, the 64-bit window at 4 GiB. */
struct test_bus {
	struct fake_kvm kvm;
	struct iobus pio, mmio;
	struct guest_mem mem;
	struct evloop loop;
	struct pci_bus bus;
};

/* Allocates and initializes; asserts on failure. */
struct test_bus *test_bus_new(void);
void test_bus_free(struct test_bus *t);
/* Guest configuration access through ports 0xcf8/0xcfc. */
uint32_t test_cfg_read(struct test_bus *t, unsigned slot, unsigned fn, unsigned off, unsigned size);
void test_cfg_write(struct test_bus *t, unsigned slot, unsigned fn, unsigned off, unsigned size, uint32_t v);

#endif
