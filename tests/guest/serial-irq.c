/*
 * serial-irq.c - the COM1 interrupt reaches the CPU through the IOAPIC the way
 * an ACPI OS wires it: find the RSDP by the legacy scan of 0xe0000-0xfffff, take
 * the IOAPIC and the ISA IRQ 4 override (if any) from the MADT, program that
 * IOAPIC pin, then make the 16550 raise a transmitter-empty interrupt (IER THRI)
 * and a receive interrupt (IER RDI, a byte sent in loopback mode).
 * Prints "serial irq: ..." and exits 0, or 1 when an interrupt never came.
 */
#include "guest.h"
#include "io.h"
#include "irq.h"

#define COM1             0x3f8
#define UART_RBR         0
#define UART_IER         1
#define UART_IIR         2
#define UART_MCR         4
#define IER_RDI          0x01
#define IER_THRI         0x02
#define IIR_NO_INT       0x01
#define MCR_OUT2         0x08
#define MCR_LOOP         0x10
#define COM1_ISA_IRQ     4
#define SERIAL_VEC       0x44
#define WAIT_CYCLES      5000000000ull

/* ACPI 6.5 §5.2.5 (RSDP), §5.2.12 (MADT) */
#define RSDP_SCAN_FROM   0xe0000ul
#define RSDP_SCAN_TO     0x100000ul
#define MADT_IOAPIC      1
#define MADT_OVERRIDE    2
#define MPS_POLARITY_LOW 0x3   /* INTI flags: polarity bits 1:0 = 11 */
#define MPS_TRIGGER_LEVEL 0xc  /* trigger bits 3:2 = 11 */
/* IOAPIC (82093AA §3.2) */
#define IOAPIC_IOWIN     0x10
#define IOAPIC_REDTBL    0x10
#define IOAPIC_LOW_ACTIVE 0x2000u
#define IOAPIC_LEVEL     0x8000u

static volatile unsigned int irqs;
static volatile uint8_t last_iir;

__attribute__((interrupt)) static void isr(struct guest_intr_frame *f)
{
	(void)f;
	last_iir = inb(COM1 + UART_IIR); /* reading IIR acknowledges THRE */
	if (!(last_iir & IIR_NO_INT))
		irqs++;
	(void)inb(COM1 + UART_RBR);      /* and reading RBR drains the receive side */
	guest_lapic_eoi();
}

static uint64_t rd(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;
	for (unsigned int i = n; i-- > 0;)
		v = (v << 8) | p[i];
	return v;
}

static int is(const uint8_t *p, const char *s, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (p[i] != (uint8_t)s[i])
			return 0;
	return 1;
}

/* The MADT through the RSDP (legacy scan) and the XSDT, or NULL. */
static const uint8_t *find_madt(void)
{
	for (uintptr_t a = RSDP_SCAN_FROM; a < RSDP_SCAN_TO; a += 16) {
		const uint8_t *r = (const uint8_t *)a;
		if (!is(r, "RSD PTR ", 8))
			continue;
		const uint8_t *x = (const uint8_t *)(uintptr_t)rd(r + 24, 8);
		for (unsigned int off = 36; x && is(x, "XSDT", 4) && off < rd(x + 4, 4); off += 8) {
			const uint8_t *t = (const uint8_t *)(uintptr_t)rd(x + off, 8);
			if (is(t, "APIC", 4))
				return t;
		}
	}
	return 0;
}

static bool wait_irq(unsigned int target)
{
	return guest_irq_wait(&irqs, target, WAIT_CYCLES);
}

int guest_main(void)
{
	const uint8_t *madt = find_madt();
	uint32_t ioapic = 0, gsi_base = 0, gsi = COM1_ISA_IRQ, redir = SERIAL_VEC;
	if (!madt) {
		guest_printf("serial irq: no MADT found through the RSDP\n");
		return 1;
	}
	for (unsigned int off = 44; off + 2 <= rd(madt + 4, 4) && madt[off + 1]; off += madt[off + 1]) {
		const uint8_t *e = madt + off;
		if (e[0] == MADT_IOAPIC && !ioapic)
			ioapic = (uint32_t)rd(e + 4, 4), gsi_base = (uint32_t)rd(e + 8, 4);
		if (e[0] == MADT_OVERRIDE && e[3] == COM1_ISA_IRQ) {
			gsi = (uint32_t)rd(e + 4, 4);
			uint16_t flags = (uint16_t)rd(e + 8, 2);
			if ((flags & MPS_POLARITY_LOW) == MPS_POLARITY_LOW)
				redir |= IOAPIC_LOW_ACTIVE;
			if ((flags & MPS_TRIGGER_LEVEL) == MPS_TRIGGER_LEVEL)
				redir |= IOAPIC_LEVEL;
		}
	}
	if (!ioapic) {
		guest_printf("serial irq: no IOAPIC in the MADT\n");
		return 1;
	}
	guest_pic_disable();
	guest_lapic_enable();
	guest_irq_set(SERIAL_VEC, isr);
	unsigned int pin = gsi - gsi_base;
	mmio_write32(ioapic, IOAPIC_REDTBL + 2 * pin + 1);
	mmio_write32(ioapic + IOAPIC_IOWIN, 0);            /* destination: APIC id 0 */
	mmio_write32(ioapic, IOAPIC_REDTBL + 2 * pin);
	mmio_write32(ioapic + IOAPIC_IOWIN, redir);        /* unmasked, fixed, physical */

	outb(COM1 + UART_MCR, MCR_OUT2);
	outb(COM1 + UART_IER, IER_THRI);                   /* THR is empty: interrupt now */
	bool thri = wait_irq(1);
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_MCR, MCR_OUT2 | MCR_LOOP);        /* what we send comes back */
	outb(COM1 + UART_IER, IER_RDI);
	outb(COM1 + UART_RBR, 'x');
	bool rdi = wait_irq(2);
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_MCR, MCR_OUT2);
	guest_printf("serial irq: ISA IRQ %u on GSI %u, IOAPIC at 0x%x pin %u: THRI %s, RDI %s (%u interrupts)\n",
	             COM1_ISA_IRQ, gsi, ioapic, pin, thri ? "ok" : "missing", rdi ? "ok" : "missing", irqs);
	return thri && rdi ? 0 : 1;
}
