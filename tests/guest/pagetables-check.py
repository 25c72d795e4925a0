#!/usr/bin/env python3
"""pagetables-check.py RAM ELF: after a test guest failed, compare its page
tables in a RAM dump (modvmm's $MODVMM_FAULT_DUMP: each byte at its
guest-physical address) with the ones in its ELF file.

The test guests' .data section starts with the static page tables
(lib/entry.S: a PML4, a PDPT and four page directories, 6 pages, identity
mapped).  The CPU sets the accessed and dirty bits (5, 6), so they are masked;
lib/pci.c points PDPT entries 4 and up at tables of its own to reach 64-bit
BARs, so those are listed but expected.  Prints each 8-byte entry that
differs and a verdict line; exit 0 when the tables are intact, 1 when not,
2 when the files cannot be read as such."""
import struct
import sys

TABLES = 6 * 4096          # pml4, pdpt, pd x4
AD_BITS = (1 << 5) | (1 << 6)
NAMES = [("pml4", 1), ("pdpt", 1), ("pd", 4)]
PDPT_PAGE = 1              # the PDPT is the second page of NAMES


def data_section(elf):
    with open(elf, "rb") as f:
        img = f.read()
    if img[:4] != b"\x7fELF" or img[4] != 2:
        raise ValueError(f"{elf} is not a 64-bit ELF file (a Linux bzImage has no such tables)")
    shoff, = struct.unpack_from("<Q", img, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", img, 0x3a)

    def sh(i):
        return struct.unpack_from("<IIQQQQ", img, shoff + i * shentsize)

    strtab = sh(shstrndx)
    for i in range(shnum):
        name, _, _, addr, off, size = sh(i)
        end = img.index(b"\0", strtab[4] + name)
        if img[strtab[4] + name:end] == b".data":
            if size < TABLES:
                raise ValueError(f"{elf}: .data is {size} bytes, smaller than the page tables")
            return addr, img[off:off + TABLES]
    raise ValueError(f"{elf} has no .data section")


def where(index):
    page = index // 512
    for name, pages in NAMES:
        if page < pages:
            return f"{name}[{index % 512}]" if pages == 1 else f"{name}{page}[{index % 512}]"
        page -= pages
    return f"entry {index}"


def main():
    if len(sys.argv) != 3:
        print(__doc__.split("\n\n")[0], file=sys.stderr)
        return 2
    try:
        addr, want = data_section(sys.argv[2])
        with open(sys.argv[1], "rb") as f:
            f.seek(addr)
            got = f.read(TABLES)
    except (OSError, ValueError) as e:
        print(f"pagetables-check: {e}")
        return 2
    if len(got) < TABLES:
        print(f"pagetables-check: the dump ends before 0x{addr + TABLES:x}")
        return 2
    changed = expected = 0
    for i in range(TABLES // 8):
        w, = struct.unpack_from("<Q", want, i * 8)
        g, = struct.unpack_from("<Q", got, i * 8)
        if (w ^ g) & ~AD_BITS == 0:
            continue
        pci = i // 512 == PDPT_PAGE and i % 512 >= 4
        expected += pci
        changed += not pci
        note = " (lib/pci.c's 64-bit BAR window)" if pci else ""
        print(f"pagetables-check: {where(i)} at 0x{addr + i * 8:x}: ELF 0x{w:016x}, RAM 0x{g:016x}{note}")
    if changed:
        print(f"pagetables-check: {changed} page-table entries changed in guest RAM (A/D bits masked): "
              "something wrote over the guest's page tables")
        return 1
    print(f"pagetables-check: the page tables at 0x{addr:x} are intact in guest RAM "
          f"({TABLES} bytes, A/D bits masked, {expected} PDPT entries of lib/pci.c)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
