/*
 * vfio-rom.h - the expansion ROM of a function passed through by modvmm's
 * vfio-pci plugin, as the vfio-edu guest checks it.
 */
#ifndef GUEST_VFIO_ROM_H
#define GUEST_VFIO_ROM_H

#include <stdbool.h>

/* rom = on (shown): the ROM register sizes to a power of two >= 2 KiB,
 * decodes only with ROM Enable and COMMAND memory both set, starts with
 * 0x55 0xAA, drops writes; prints "NAME: expansion ROM SIZE bytes, crc32
 * 0xCRC" (CRC-32 of IEEE 802.3 / zlib over the whole BAR) for the script.
 * rom = off: the register reads 0 and sizes to 0.  Leaves the ROM disabled
 * at its address. */
void check_rom(unsigned bdf, const char *name, bool shown);

#endif
