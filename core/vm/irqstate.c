/* SPDX-License-Identifier: MIT */
/* vm_dump_irq_state: where the guest's interrupts stand, printed when the VM
 * is stopped from outside (a signal), so that a guest that hung waiting for
 * an interrupt tells a lost edge (an IOAPIC pin asserted, nothing pending in
 * the LAPIC) from a guest that stopped taking them (a vector left in service,
 * interrupts off). */
#include "vm/irqstate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "log.h"
#include "vm/vcpu.h"
#include "vm/vm.h"

#define APIC_TPR 0x80
#define APIC_ISR 0x100
#define APIC_IRR 0x200
#define RFLAGS_IF (1u << 9)

/* the vectors set in the 256-bit LAPIC register at OFF (eight 32-bit words, 16 bytes apart) */
static void vectors(const struct kvm_lapic_state *l, unsigned off, char *out, size_t len)
{
	size_t n = 0;
	out[0] = '\0';
	for (unsigned v = 0; v < 256; v++) {
		uint32_t w;
		memcpy(&w, l->regs + off + (v / 32) * 16, sizeof(w));
		if ((w >> (v % 32)) & 1 && n + 6 < len)
			n += (size_t)snprintf(out + n, len - n, " 0x%02x", v);
	}
	if (!n)
		snprintf(out, len, " none");
}

/* "N exits, the last (I/O write 0x3f8) 93.1 s before the stop; in KVM_RUN again
 * since 93.1 s": a vCPU thread inside KVM_RUN, or stuck in an exit handler */
static void last_exit(const struct vcpu *cpu, char *out, size_t len)
{
	uint64_t n = atomic_load(&cpu->exits);
	if (!n) {
		snprintf(out, len, "no exit yet");
		return;
	}
	uint64_t now = vcpu_now_ns();
	double ago = (double)(now - cpu->last_exit_ns) / 1e9;
	const char *rw = cpu->last_exit_write ? "write" : "read";
	char what[48];
	if (cpu->last_exit_reason == KVM_EXIT_IO)
		snprintf(what, sizeof(what), "I/O %s 0x%llx", rw, (unsigned long long)cpu->last_exit_at);
	else if (cpu->last_exit_reason == KVM_EXIT_MMIO)
		snprintf(what, sizeof(what), "MMIO %s 0x%llx", rw, (unsigned long long)cpu->last_exit_at);
	else
		snprintf(what, sizeof(what), "exit reason %u", cpu->last_exit_reason);
	/* the kick that stopped it ends KVM_RUN without an exit record */
	if (cpu->last_entry_ns >= cpu->last_exit_ns)
		snprintf(out, len, "%llu exits, the last (%s) %.1f s before the stop; in KVM_RUN again since %.1f s",
		         (unsigned long long)n, what, ago, (double)(now - cpu->last_entry_ns) / 1e9);
	else
		snprintf(out, len, "%llu exits, the last (%s) %.1f s before the stop, still being handled", (unsigned long long)n,
		         what, ago);
}

static const char *mp_state_name(uint32_t s)
{
	static const char *const names[] = { "runnable", "uninitialized", "INIT received", "halted", "SIPI received" };
	return s < sizeof(names) / sizeof(names[0]) ? names[s] : "other";
}

static void dump_vcpu(struct vcpu *cpu)
{
	struct kvm_regs r;
	struct kvm_lapic_state l;
	struct kvm_mp_state mp;
	struct kvm_vcpu_events ev;
	if (ioctl(cpu->fd, KVM_GET_REGS, &r) || ioctl(cpu->fd, KVM_GET_LAPIC, &l) ||
	    ioctl(cpu->fd, KVM_GET_MP_STATE, &mp) || ioctl(cpu->fd, KVM_GET_VCPU_EVENTS, &ev)) {
		pr_info("vcpu%u at stop: cannot read its state: %s", cpu->id, strerror(errno));
		return;
	}
	char isr[160], irr[160];
	uint32_t tpr;
	memcpy(&tpr, l.regs + APIC_TPR, sizeof(tpr));
	vectors(&l, APIC_ISR, isr, sizeof(isr));
	vectors(&l, APIC_IRR, irr, sizeof(irr));
	pr_info("vcpu%u at stop: rip 0x%llx, interrupts %s%s, mp_state %u (%s), LAPIC TPR 0x%x, in service:%s, requested:%s%s",
	        cpu->id, r.rip, (r.rflags & RFLAGS_IF) ? "on" : "off",
	        ev.interrupt.shadow ? " (shadowed)" : "", mp.mp_state, mp_state_name(mp.mp_state), tpr & 0xff, isr, irr,
	        ev.interrupt.injected ? ", an injection under way" : "");
	char ex[256];
	last_exit(cpu, ex, sizeof(ex));
	pr_info("vcpu%u at stop: %s", cpu->id, ex);
}

static void dump_ioapic(struct vm *vm)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };
	if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &chip)) {
		pr_info("IOAPIC at stop: cannot read it: %s", strerror(errno));
		return;
	}
	const struct kvm_ioapic_state *io = &chip.chip.ioapic;
	pr_info("IOAPIC at stop: lines asserted 0x%06x", io->irr);
	for (unsigned pin = 0; pin < KVM_IOAPIC_NUM_PINS; pin++) {
		if (!(io->irr & (1u << pin)))
			continue;
		const __typeof__(io->redirtbl[0].fields) *e = &io->redirtbl[pin].fields;
		pr_info("IOAPIC pin %u: vector 0x%02x, %s-triggered, %s%s, destination 0x%x", pin,
		        e->vector, e->trig_mode ? "level" : "edge", e->mask ? "masked" : "unmasked",
		        e->remote_irr ? ", remote IRR set" : "", e->dest_id);
	}
}

void vm_dump_irq_state(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++)
		if (vm->vcpus[i].fd >= 0)
			dump_vcpu(&vm->vcpus[i]);
	dump_ioapic(vm);
}
