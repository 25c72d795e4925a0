/* SPDX-License-Identifier: MIT */
/* kvm_vm_ops: the KVM calls of the PCI subsystem on a real VM fd. */
#include "vm/kvmops.h"

#include <errno.h>
#include <sys/ioctl.h>

#include "vm/vm.h"

static int vm_map(void *ctx, uint64_t gpa, uint64_t size, void *hva)
{
	struct vm *vm = ctx;
	int slot = vm_memslot_alloc(vm);
	if (slot < 0)
		return slot;
	int ret = vm_memslot_set(vm, slot, gpa, size, hva, false);
	if (ret) {
		vm_memslot_free(vm, slot);
		return ret;
	}
	return slot;
}

static void vm_unmap(void *ctx, int slot)
{
	struct vm *vm = ctx;
	/* size 0 deletes the slot (KVM API: KVM_SET_USER_MEMORY_REGION) */
	vm_memslot_set(vm, slot, 0, 0, NULL, false);
	vm_memslot_free(vm, slot);
}

static int vm_ioctl(void *ctx, unsigned long req, const void *arg)
{
	const struct vm *vm = ctx;
	return ioctl(vm->vm_fd, req, arg) < 0 ? -errno : 0;
}

static int vm_ioeventfd(void *ctx, const struct kvm_ioeventfd *req)
{
	return vm_ioctl(ctx, KVM_IOEVENTFD, req);
}

static int vm_irqfd(void *ctx, const struct kvm_irqfd *req)
{
	return vm_ioctl(ctx, KVM_IRQFD, req);
}

static int vm_set_gsi_routing(void *ctx, const struct kvm_irq_routing *table)
{
	return vm_ioctl(ctx, KVM_SET_GSI_ROUTING, table);
}

static int vm_irq_line(void *ctx, unsigned gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level ? 1 : 0 };
	return vm_ioctl(ctx, KVM_IRQ_LINE, &irq);
}

static int vm_check_extension(void *ctx, long cap)
{
	const struct vm *vm = ctx;
	int r = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

const struct kvm_ops kvm_vm_ops = {
	.map = vm_map,
	.unmap = vm_unmap,
	.ioeventfd = vm_ioeventfd,
	.irqfd = vm_irqfd,
	.set_gsi_routing = vm_set_gsi_routing,
	.irq_line = vm_irq_line,
	.check_extension = vm_check_extension,
};
