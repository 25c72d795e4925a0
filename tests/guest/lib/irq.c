/*
 * irq.c - a full IDT for external interrupts and xAPIC helpers (see irq.h).
 */
#include "irq.h"

#include "guest.h"
#include "io.h"
#include "layout.h"

#define LAPIC_EOI     0x0b0
#define LAPIC_SVR     0x0f0
#define SVR_ENABLE    0x100
#define GATE_INTR     0x8e   /* present, DPL0, 64-bit interrupt gate (SDM vol. 3A §6.14.1) */
#define PIC1_DATA     0x21   /* 8259A master, OCW1 = interrupt mask */
#define PIC2_DATA     0xa1   /* 8259A slave */
#define PIC_MASK_ALL  0xff

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t reserved;
};

struct __attribute__((packed)) idt_ptr {
	uint16_t limit;
	uint64_t base;
};

static struct idt_gate idt[GUEST_IRQ_VECTORS] __attribute__((aligned(16)));
static bool idt_loaded;

/* Copy the library's exception gates into the big table once, then load it. */
static void idt_install(void)
{
	struct idt_ptr p;

	__asm__ volatile("sidt %0" : "=m"(p));
	const struct idt_gate *old = (const struct idt_gate *)(uintptr_t)p.base;
	unsigned int n = (p.limit + 1u) / sizeof(struct idt_gate);
	for (unsigned int i = 0; i < n && i < GUEST_IRQ_VECTORS; i++)
		idt[i] = old[i];
	p = (struct idt_ptr){ .limit = sizeof(idt) - 1, .base = (uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(p));
	idt_loaded = true;
}

void guest_irq_set(unsigned int vec, void (*handler)(struct guest_intr_frame *))
{
	uint64_t h = (uintptr_t)handler;

	if (vec >= GUEST_IRQ_VECTORS)
		return;
	if (!idt_loaded)
		idt_install();
	idt[vec] = (struct idt_gate){
		.off_lo = (uint16_t)h, .sel = SEL_KCODE64, .type = GATE_INTR,
		.off_mid = (uint16_t)(h >> 16), .off_hi = (uint32_t)(h >> 32),
	};
}

/* The APIC's spurious vector: no EOI (SDM vol. 3A §11.9). */
__attribute__((interrupt)) static void spurious_isr(struct guest_intr_frame *f)
{
	(void)f;
}

void guest_lapic_enable(void)
{
	guest_irq_set(LAPIC_SPURIOUS_VEC, spurious_isr);
	mmio_write32(LAPIC_BASE + LAPIC_SVR, SVR_ENABLE | LAPIC_SPURIOUS_VEC);
}

void guest_pic_disable(void)
{
	outb(PIC1_DATA, PIC_MASK_ALL);
	outb(PIC2_DATA, PIC_MASK_ALL);
}

void guest_lapic_eoi(void)
{
	mmio_write32(LAPIC_BASE + LAPIC_EOI, 0);
}

bool guest_irq_wait(volatile unsigned int *counter, unsigned int target, uint64_t cycles)
{
	uint64_t end = guest_rdtsc() + cycles;
	bool ok;

	__asm__ volatile("sti" ::: "memory");
	while (!(ok = *counter >= target) && guest_rdtsc() < end)
		guest_pause();
	__asm__ volatile("cli" ::: "memory");
	return ok || *counter >= target;
}

#define IOAPIC_BASE   0xfec00000ul
#define IOAPIC_IOWIN  0x10      /* data window after the index register */
#define IOAPIC_REDTBL 0x10      /* redirection entry i: registers 0x10 + 2i, + 1 */
#define IOAPIC_LEVEL  0x8000u
#define IOAPIC_MASKED 0x10000u

static void ioapic_write(unsigned int reg, uint32_t v)
{
	mmio_write32(IOAPIC_BASE, reg);
	mmio_write32(IOAPIC_BASE + IOAPIC_IOWIN, v);
}

void guest_ioapic_route(unsigned int pin, unsigned int vec, bool level, bool masked)
{
	ioapic_write(IOAPIC_REDTBL + 2 * pin + 1, guest_lapic_id() << 24);
	ioapic_write(IOAPIC_REDTBL + 2 * pin, vec | (level ? IOAPIC_LEVEL : 0) | (masked ? IOAPIC_MASKED : 0));
}
