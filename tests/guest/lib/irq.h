/*
 * irq.h - external interrupts for the test guests: a 256-entry IDT that keeps
 * the library's exception gates, gates for GCC interrupt handlers, and the
 * xAPIC bits an MSI handler needs.  Boot CPU only; CPL0 only.
 *
 * A handler is declared
 *     __attribute__((interrupt)) static void isr(struct guest_intr_frame *f)
 * and must end with guest_lapic_eoi().  Interrupts are only taken at CPL0
 * with IF set (guest_user_run() runs CPL3 code with IF clear): wait with
 * guest_irq_wait().
 */
#ifndef GUEST_IRQ_H
#define GUEST_IRQ_H

#include <stdbool.h>
#include <stdint.h>

#define GUEST_IRQ_VECTORS   256
#define GUEST_IRQ_FIRST     32   /* vectors 0-31 are exceptions (Intel SDM vol. 3A §6.2) */
#define LAPIC_SPURIOUS_VEC  0xff

struct guest_intr_frame {
	uint64_t rip, cs, rflags, rsp, ss;
};

/* Point vector vec at handler (a 64-bit interrupt gate, DPL0). */
void guest_irq_set(unsigned int vec, void (*handler)(struct guest_intr_frame *));
/* Software-enable the local APIC (SVR), spurious vector LAPIC_SPURIOUS_VEC. */
void guest_lapic_enable(void);
/* Mask every input of both 8259 PICs (OCW1, 8259A datasheet): the guests use
 * the IOAPIC and MSIs, and an unprogrammed PIC would deliver its inputs as
 * vectors 0-15 through the boot CPU's LINT0 (ExtINT). */
void guest_pic_disable(void);
/* End of interrupt: write 0 to the EOI register (SDM vol. 3A §11.8.5). */
void guest_lapic_eoi(void);

/* IOAPIC at its default address (82093AA datasheet §3.2): route input `pin`
 * (0-23) to `vec` on the boot CPU, active high, level- or edge-triggered, masked
 * or not. */
#define GUEST_IOAPIC_PINS 24
void guest_ioapic_route(unsigned int pin, unsigned int vec, bool level, bool masked);

/* Enable interrupts until *counter >= target or `cycles` TSC cycles passed;
 * returns true when the target was reached. */
bool guest_irq_wait(volatile unsigned int *counter, unsigned int target, uint64_t cycles);

#endif
