/*
 * vfio-rom.c - the expansion ROM register (PCI Local Bus 3.0 §6.2.5.2) of a
 * passed-through function and the ROM behind it (PCI Firmware 3.0 §5.1: an
 * image starts with the signature 0x55 0xAA).
 */
#include "vfio-rom.h"
#include "testdev.h"

#define PCI_ROM_MIN       2048        /* 11 low bits are not address */
#define ROM_SIGNATURE     0xaa55      /* bytes 0x55 0xAA, read as a little-endian word */
#define CRC32_POLY        0xedb88320u /* reflected IEEE 802.3, as zlib and gzip */

static uint32_t crc32_add(uint32_t crc, uint64_t bytes)
{
	for (unsigned i = 0; i < 8; i++, bytes >>= 8) {
		crc ^= (uint8_t)bytes;
		for (unsigned k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ CRC32_POLY : crc >> 1;
	}
	return crc;
}

void check_rom(unsigned bdf, const char *name, bool shown)
{
	uint32_t reg = pci_cfg_read(bdf, PCI_ROM, 4);
	pci_cfg_write(bdf, PCI_ROM, 4, PCI_ROM_ADDR_MASK);      /* size probe, enable off */
	uint32_t probe = pci_cfg_read(bdf, PCI_ROM, 4);
	pci_cfg_write(bdf, PCI_ROM, 4, reg);
	if (!shown) {
		check(reg == 0 && probe == 0, "%s: rom = off: the ROM register reads 0x%x and sizes to 0x%x", name, reg, probe);
		return;
	}
	uint32_t size = ~(probe & PCI_ROM_ADDR_MASK) + 1u;
	uintptr_t rom = reg & PCI_ROM_ADDR_MASK;
	if (!check(probe && size >= PCI_ROM_MIN && !(size & (size - 1)) && rom && !(reg & PCI_ROM_ENABLE),
	           "%s: ROM register 0x%x (disabled), sizes to 0x%x bytes", name, reg, size))
		return;
	uint16_t cmd = (uint16_t)pci_cfg_read(bdf, PCI_COMMAND, 2);
	pci_cfg_write(bdf, PCI_COMMAND, 2, cmd | PCI_CMD_MEM);
	uint32_t off = mmio_read32(rom);
	check(off == 0xffffffffu, "%s: ROM Enable off: nothing at 0x%lx (reads 0x%x)", name, (unsigned long)rom, off);
	pci_cfg_write(bdf, PCI_ROM, 4, (uint32_t)rom | PCI_ROM_ENABLE);
	pci_cfg_write(bdf, PCI_COMMAND, 2, cmd & ~PCI_CMD_MEM);
	off = mmio_read32(rom);
	check(off == 0xffffffffu, "%s: COMMAND memory off: nothing at the ROM (reads 0x%x)", name, off);
	pci_cfg_write(bdf, PCI_COMMAND, 2, cmd | PCI_CMD_MEM);
	uint16_t sig = mmio_read16(rom);
	check(sig == ROM_SIGNATURE, "%s: ROM signature 0x55 0xAA (reads 0x%x)", name, sig);
	mmio_write32(rom, 0);
	check(mmio_read16(rom) == sig, "%s: a write to the ROM is dropped", name);
	uint32_t crc = 0xffffffffu;
	for (uint32_t at = 0; at < size; at += 8)
		crc = crc32_add(crc, mmio_read64(rom + at));
	guest_printf("%s: expansion ROM %u bytes, crc32 0x%08x\n", name, size, ~crc);
	pci_cfg_write(bdf, PCI_ROM, 4, (uint32_t)rom);
	pci_cfg_write(bdf, PCI_COMMAND, 2, cmd);
}
