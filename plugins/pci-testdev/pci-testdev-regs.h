/* SPDX-License-Identifier: MIT */
/*
 * pci-testdev register layout: shared by the plugin, its unit test and the test
 * guests (plain #defines, no includes, so a freestanding guest can use it).
 *
 * Identity: vendor 0x1b36 (Red Hat / QEMU's range), device 0x7e57 ("test"), a
 * clearly-marked test id that QEMU does not use (QEMU's own pci-testdev is
 * 1b36:0005 with a different layout).  Class 0xff ("device does not fit any
 * defined class", PCI Code and ID Assignment Spec. 1.9 §1.19).
 *
 * BAR0  I/O, 256 bytes, trapped:     the registers below
 * BAR1  32-bit memory, 4 KiB, trapped: the same registers at 0x000-0x0ff;
 *       MSI-X table at 0x800, PBA at 0xc00 (served by the core)
 * BAR2  64-bit prefetchable memory (BAR2+BAR3), devmem segment mapped directly;
 *       size from the `devmem_size` key (default 64 KiB); the device writes
 *       TESTDEV_DEVMEM_MAGIC at offset 0 when it is created
 *
 * Registers are 32 bits wide.  Every trapped write to BAR0 counts in PIO_WRITES,
 * every trapped write to BAR1 registers in MMIO_WRITES, whatever its offset and
 * size; only aligned writes of 4 bytes or more act.  Reads of any size and
 * alignment return the bytes of the registers they cover.  Counters are the low
 * 32 bits of 64-bit counts.  DOORBELL is not trapped: a KVM ioeventfd (any
 * width) catches the write and the device's worker thread counts it, so ringing
 * it never exits to userspace.  Reading a KICKS register also collects the kicks
 * the thread has not counted yet (with `kick_thread = false` there is no thread
 * and that is the only way they are counted).
 */
#ifndef PCI_TESTDEV_REGS_H
#define PCI_TESTDEV_REGS_H

#define TESTDEV_VENDOR_ID  0x1b36
#define TESTDEV_DEVICE_ID  0x7e57
#define TESTDEV_SUBSYS_ID  0x1100 /* QEMU's default subsystem id, vendor 0x1b36 */
#define TESTDEV_CLASS      0xff
#define TESTDEV_REVISION   0x01

#define TESTDEV_BAR_PIO    0
#define TESTDEV_BAR_MMIO   1
#define TESTDEV_BAR_DEVMEM 2 /* 64-bit: also uses BAR register 3 */

#define TESTDEV_PIO_SIZE   0x100
#define TESTDEV_MMIO_SIZE  0x1000
#define TESTDEV_REGS_SIZE  0x100   /* registers at the start of BAR0 and BAR1 */

/* Register offsets (BAR0 and BAR1). */
#define TESTDEV_MAGIC       0x00 /* RO: TESTDEV_MAGIC_VALUE */
#define TESTDEV_VERSION     0x04 /* RO: TESTDEV_VERSION_VALUE */
#define TESTDEV_SCRATCH     0x08 /* RW: keeps the last value written */
#define TESTDEV_BAR_ID      0x0c /* RO: 0 through BAR0, 1 through BAR1 */
#define TESTDEV_PIO_WRITES  0x10 /* RO: trapped writes to BAR0 */
#define TESTDEV_MMIO_WRITES 0x14 /* RO: trapped writes to BAR1 registers */
#define TESTDEV_PIO_KICKS   0x18 /* RO: writes to BAR0 DOORBELL (ioeventfd) */
#define TESTDEV_MMIO_KICKS  0x1c /* RO: writes to BAR1 DOORBELL (ioeventfd) */
#define TESTDEV_MSIX_NOTIFY 0x20 /* WO: raise MSI-X vector N (host pci_msix_notify) */
#define TESTDEV_MSIX_FD     0x24 /* WO: raise MSI-X vector N through its irqfd */
#define TESTDEV_INTX        0x28 /* WO: 1 asserts INTA#, 0 deasserts it */
#define TESTDEV_RESET       0x2c /* WO: any value zeroes the four counters */
#define TESTDEV_DEVMEM_SIZE 0x30 /* RO: BAR2 size, low 32 bits */
#define TESTDEV_NVEC        0x34 /* RO: number of MSI-X vectors */
#define TESTDEV_DOORBELL    0x40 /* WO: ioeventfd doorbell; reads return 0 */

#define TESTDEV_MAGIC_VALUE   0x6474766du /* "mvtd" in memory order */
#define TESTDEV_VERSION_VALUE 1u
#define TESTDEV_DEVMEM_MAGIC  0x6d64766du /* "mvdm": devmem offset 0 */

/* MSI-X (PCI Local Bus 3.0 §6.8.2): table and PBA in BAR1. */
#define TESTDEV_MSIX_VECTORS   4
#define TESTDEV_MSIX_TABLE_OFF 0x800
#define TESTDEV_MSIX_PBA_OFF   0xc00

#define TESTDEV_DEVMEM_DEFAULT 0x10000 /* 64 KiB */

#endif
