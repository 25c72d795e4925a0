/* stub.h - constants shared by header.S, stub.ld (via the meson command line) and stub.c. */
#ifndef STUB_H
#define STUB_H

#define STUB_SETUP_SECTS     1           /* boot sector + 1 setup sector */
#define STUB_PROTOCOL        0x020f      /* boot protocol 2.15 */
#define STUB_LOADFLAGS       0x01        /* LOADED_HIGH */
#define STUB_XLOADFLAGS      0x0001      /* XLF_KERNEL_64 */
#define STUB_LOAD_ADDR       0x1000000   /* pref_address, also the link address */
#define STUB_INITRD_ADDR_MAX 0x7fffffff
#define STUB_CMDLINE_SIZE    0x7ff
#define STUB_STACK_SIZE      16384

#endif
