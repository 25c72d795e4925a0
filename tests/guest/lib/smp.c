/*
 * smp.c - start application processors with INIT-SIPI-SIPI (xAPIC MMIO).
 * Intel SDM vol. 3A §10.6 (ICR) and §8.4.4 (MP initialization example).
 */
#include "internal.h"
#include "io.h"
#include "layout.h"

#define LAPIC_ID      0x020
#define LAPIC_SVR     0x0f0
#define LAPIC_ICR_LO  0x300
#define LAPIC_ICR_HI  0x310
#define SVR_ENABLE    0x100
#define ICR_PENDING   0x1000 /* delivery status */
#define ICR_INIT      0x4500 /* delivery mode INIT, level assert */
#define ICR_STARTUP   0x4600 /* delivery mode start-up, vector in bits 0-7 */
#define IPI_GAP_TSC   20000  /* a few us between IPIs: virtual hardware */

extern char ap_trampoline_start[], ap_trampoline_end[];

unsigned int guest_lapic_id(void)
{
	return mmio_read32(LAPIC_BASE + LAPIC_ID) >> 24;
}

static void tsc_wait(uint64_t cycles)
{
	uint64_t end = guest_rdtsc() + cycles;

	while (guest_rdtsc() < end)
		guest_pause();
}

static void send_ipi(unsigned int apic_id, uint32_t icr)
{
	for (int i = 0; i < 1000 && (mmio_read32(LAPIC_BASE + LAPIC_ICR_LO) & ICR_PENDING); i++)
		guest_pause();
	mmio_write32(LAPIC_BASE + LAPIC_ICR_HI, apic_id << 24);
	mmio_write32(LAPIC_BASE + LAPIC_ICR_LO, icr);
}

void guest_smp_start(unsigned int ncpus, void (*fn)(unsigned int lapic_id))
{
	unsigned int self = guest_lapic_id(), id, round;
	uint32_t sipi = ICR_STARTUP | (TRAMPOLINE_PA >> 12);

	if (ncpus > GUEST_MAX_CPUS)
		ncpus = GUEST_MAX_CPUS;
	guest_smp_set_ap_fn(fn);
	memcpy((void *)TRAMPOLINE_PA, ap_trampoline_start,
	       (size_t)(ap_trampoline_end - ap_trampoline_start));
	mmio_write32(LAPIC_BASE + LAPIC_SVR, mmio_read32(LAPIC_BASE + LAPIC_SVR) | SVR_ENABLE);

	for (id = 0; id < ncpus; id++)
		if (id != self)
			send_ipi(id, ICR_INIT);
	tsc_wait(IPI_GAP_TSC);
	for (round = 0; round < 2; round++) {
		for (id = 0; id < ncpus; id++)
			if (id != self)
				send_ipi(id, sipi);
		tsc_wait(IPI_GAP_TSC);
	}
}
