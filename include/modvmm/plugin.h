/* SPDX-License-Identifier: MIT */
/*
 * modvmm plugin ABI, version 2.4 (2.1: control socket services, 2.2: pci_msi_vector,
 * 2.3: modvmm_pci_cfg_ops.header_written, modvmm_bar.areas, 2.4: the expansion
 * ROM BAR MODVMM_PCI_ROM_BAR, pci_reset).
 *
 * A plugin is a shared object exporting exactly one symbol, MODVMM_PLUGIN_SYMBOL,
 * of type `const struct modvmm_plugin`.  Everything else in the object should be
 * hidden (-fvisibility=hidden).  The core hands the plugin a table of host
 * services (struct modvmm_host) in create(); plugins never link against core
 * symbols, so a plugin built out of tree loads into any core of the same major.
 *
 * Compatibility rules:
 *  - abi_major must equal the core's MODVMM_ABI_MAJOR;
 *  - abi_minor must not be newer than the core's MODVMM_ABI_MINOR;
 *  - new host services are appended to struct modvmm_host and bump the minor: a
 *    plugin tests MODVMM_HOST_HAS(host, service) before calling one newer than
 *    2.0 (every service of 2.0 is always there: no test needed);
 *  - every public struct has a reserved tail that new members take (bumping the
 *    minor).  Structs the core fills or reads from the core carry a `size`;
 *    tables a plugin hands to the core (modvmm_io_ops, modvmm_pci_cfg_ops, keys,
 *    the descriptor) are versioned by the descriptor's abi_minor, and their
 *    reserved tails read as NULL (designated initializers leave them zero);
 *  - frozen for the major, with no tail: struct modvmm_net_pkt (an array element
 *    on the data path) and struct modvmm_net_hdr (virtio's wire format);
 *  - a layout change bumps the major: the loader refuses older plugins.
 *    ABI 2.0 (2026-12) added the tails of modvmm_io_ops, modvmm_pci_cfg_ops and
 *    modvmm_mem_region, MODVMM_KEY_IRQ and host->acpi_node; 1.x plugins are
 *    refused and need a rebuild (sources need no change).
 *    ABI 2.1 (2026-12) appended the descriptor's stats and commands (read only
 *    from plugins built for 2.1 or later) and the host services event,
 *    backend_new and backend_free (test with MODVMM_HOST_HAS).
 *    ABI 2.2 appended host->pci_msi_vector; ABI 2.3 gave modvmm_pci_cfg_ops a
 *    header_written hook and modvmm_bar an areas list (split mappings), both
 *    in reserved slots and read only from 2.3 plugins.
 *    ABI 2.4 let pci_bar() take MODVMM_PCI_ROM_BAR (the expansion ROM
 *    register at 0x30; refused with -EINVAL to plugins built before 2.4, whose
 *    functions keep a ROM register that reads 0) and appended host->pci_reset.
 *
 * Errors are negative errno values.  A plugin never calls exit() or abort() on bad
 * input: it returns an error, and the core unwinds a failed start in reverse order.
 * Guest-controlled values are never trusted: translate every guest-physical
 * address with host->gpa_to_hva(), which bounds-checks against guest RAM.
 */
#ifndef MODVMM_PLUGIN_H
#define MODVMM_PLUGIN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MODVMM_ABI_MAJOR 2
#define MODVMM_ABI_MINOR 4

/* Name of the one symbol a plugin exports. */
#define MODVMM_PLUGIN_SYMBOL "modvmm_plugin"
#define MODVMM_EXPORT __attribute__((visibility("default")))

/* Declare a plugin's descriptor:
 *   MODVMM_PLUGIN_DEFINE = { MODVMM_PLUGIN_ABI, .kind = ..., .name = ..., ... };
 * MODVMM_PLUGIN_ABI fills in the version and size fields the loader checks. */
#define MODVMM_PLUGIN_DEFINE MODVMM_EXPORT const struct modvmm_plugin modvmm_plugin
#define MODVMM_PLUGIN_ABI \
	.abi_major = MODVMM_ABI_MAJOR, .abi_minor = MODVMM_ABI_MINOR, .size = sizeof(struct modvmm_plugin)

#define MODVMM_MUST_CHECK __attribute__((warn_unused_result))
#define MODVMM_PRINTF(a, b) __attribute__((format(printf, a, b)))

enum modvmm_plugin_kind {
	MODVMM_KIND_DEVICE = 1,      /* a guest-visible device */
	MODVMM_KIND_NET_BACKEND = 2, /* a network backend; ops = struct modvmm_net_backend_ops */
};

/* Types of configuration values.  The core validates every key of an INI section
 * against the plugin's schema before anything starts. */
enum modvmm_key_type {
	MODVMM_KEY_STRING = 1, /* any text */
	MODVMM_KEY_U64,        /* unsigned integer, decimal or 0x-prefixed hex ("010" is ten) */
	MODVMM_KEY_BOOL,       /* true/false, yes/no, on/off, 1/0 */
	MODVMM_KEY_SIZE,       /* unsigned integer with optional K, M, G or T suffix */
	MODVMM_KEY_IOPORT,     /* a port-I/O base claiming `span` ports; overlaps refused */
	MODVMM_KEY_PATH,       /* a file name (relative names are relative to the INI file) */
	MODVMM_KEY_BACKEND,    /* the section name of a [backend NAME]; a backend serves
	                          one device: two keys naming one backend are refused */
	MODVMM_KEY_PCI_SLOT,   /* "S" or "S.F" on bus 0; two devices on one slot refused */
	MODVMM_KEY_ENUM,       /* one of the '|'-separated words in `choices` */
	MODVMM_KEY_IRQ,        /* an ISA interrupt line the device drives alone,
	                          IOAPIC input 0-23 (`range` may narrow it); two
	                          devices on one line refused */
};

struct modvmm_key {
	const char *name;
	enum modvmm_key_type type;
	const char *def;     /* default as text; NULL means "no default" */
	const char *help;    /* one line */
	uint32_t span;       /* MODVMM_KEY_IOPORT: number of ports claimed */
	uint32_t flags;      /* MODVMM_KEY_F_* */
	const char *choices; /* MODVMM_KEY_ENUM: "a|b|c" */
	/* MODVMM_KEY_U64, MODVMM_KEY_SIZE and MODVMM_KEY_IRQ: "MIN-MAX", the inclusive range
	 * of values the core accepts (e.g. "1-8", "4K-1G"); NULL: any. */
	const char *range;
	void *reserved[1];
};
#define MODVMM_KEY_F_REQUIRED 1u /* the section must set this key */
#define MODVMM_KEY_F_EXISTS   2u /* MODVMM_KEY_PATH: the file must exist */

struct modvmm_dev;   /* a plugin instance, owned by the core (opaque) */
struct modvmm_host;
struct modvmm_check; /* a section being validated (opaque) */
struct modvmm_check_ops;
struct modvmm_command;  /* 2.1 */

/* 2.1: receives one counter of modvmm_plugin.stats. */
typedef void (*modvmm_stat_fn)(void *ctx, const char *name, uint64_t value);

/* The descriptor.  Exported once per .so as MODVMM_PLUGIN_SYMBOL. */
struct modvmm_plugin {
	uint32_t abi_major;   /* MODVMM_ABI_MAJOR the plugin was built against */
	uint32_t abi_minor;   /* MODVMM_ABI_MINOR the plugin was built against */
	uint32_t size;        /* sizeof(struct modvmm_plugin) as built */
	uint32_t kind;        /* enum modvmm_plugin_kind */
	const char *name;     /* unique; the INI `plugin =` value */
	const char *description; /* one line */
	const struct modvmm_key *keys; /* terminated by an entry whose name is NULL */

	/* Build the instance.  Runs before any vCPU; may register I/O, PCI functions
	 * and threads through `host`.  Stores its private pointer in *priv.  On error
	 * returns -errno; the core then calls destroy(*priv) if *priv was set and
	 * removes the I/O ranges, fds and threads the instance registered. */
	int (*create)(const struct modvmm_host *host, struct modvmm_dev *dev, void **priv);
	/* Optional: called after every instance is created, just before vCPUs run. */
	int (*start)(void *priv);
	/* Optional: called after vCPUs stopped; must make the instance's threads return. */
	void (*stop)(void *priv);
	/* Free the instance.  Called after stop(), or after a failed create().
	 * May be NULL. */
	void (*destroy)(void *priv);
	/* Kind-specific operations (e.g. struct modvmm_net_backend_ops), or NULL. */
	const void *ops;
	/* Optional: the rules the schema cannot state (formats, values that
	 * depend on each other, what a device needs of its backend).  Called by
	 * `modvmm check` and `modvmm run` alike, before anything is created, once
	 * per section of this plugin; a key the schema refused (already reported)
	 * reads as unset through chk.  Reports every
	 * refusal with chk->error() and returns 0 or -EINVAL.  Runs nothing else:
	 * no files, threads or guest state. */
	int (*validate)(const struct modvmm_check_ops *chk, struct modvmm_check *c);

	/* -- 2.1: the VM's control socket (modvmm stats, status, and plugin commands) -- */
	/* Optional: report the instance's counters, once per counter, through
	 * emit(ctx, name, value).  `name`: letters, digits, '_' and '.', a dotted path
	 * such as "pair0.tx_packets".  Called on the main thread between start()
	 * and stop(), concurrently with the instance's own threads: counters are
	 * read as they are (monotonic counters may lag a little). */
	void (*stats)(void *priv, modvmm_stat_fn emit, void *ctx);
	/* Optional: commands the instance offers, ended by an entry whose name is
	 * NULL; `modvmm status` lists them. */
	const struct modvmm_command *commands;
	void *reserved[5];
};

/* ---- statistics and commands (2.1) ------------------------------------------ */

/* What a command gets: the client's arguments and a way to answer. */
struct modvmm_cmd_args {
	uint32_t size;                 /* sizeof(struct modvmm_cmd_args) in the core */
	uint32_t argc;
	const char *const *argv;       /* the client's words, e.g. "plugin=sink" */
	/* Add a line to the reply the client sees (on success and on failure). */
	void (*reply)(const struct modvmm_cmd_args *a, const char *fmt, ...) MODVMM_PRINTF(2, 3);
	void *ctx;                     /* the core's */
	void *reserved[4];
};

struct modvmm_command {
	const char *name;              /* letters, digits and '-' */
	const char *usage;             /* the arguments, e.g. "plugin=NAME [KEY=VALUE ...]" */
	const char *help;              /* one line */
	/* Run on the main thread between start() and stop().  Returns 0 or -errno,
	 * having said why through a->reply().  Must not block for long: the
	 * event loop (other clients, plugin fds) waits meanwhile. */
	int (*run)(void *priv, const struct modvmm_cmd_args *a);
	void *reserved[3];
};

/* ---- configuration checks ------------------------------------------------------ */

/* Services for modvmm_plugin.validate. */
struct modvmm_check_ops {
	uint32_t size;       /* sizeof(struct modvmm_check_ops) in the core */
	uint32_t reserved0;
	/* The value of `key` in the section, or its schema default, or NULL. */
	const char *(*config_str)(struct modvmm_check *c, const char *key);
	/* The same parsed, for MODVMM_KEY_U64, SIZE and IOPORT keys: 0 or -errno. */
	int (*config_u64)(struct modvmm_check *c, const char *key, uint64_t *out);
	/* Refuse the configuration.  Printed as "FILE:LINE: KEY = VALUE: message" at
	 * the line that sets `key` (the section's line, naming the section, when
	 * the key is left at its default or `key` is NULL). */
	void (*error)(struct modvmm_check *c, const char *key, const char *fmt, ...) MODVMM_PRINTF(3, 4);
	/* The descriptor of the plugin serving the [backend NAME] that this
	 * section's MODVMM_KEY_BACKEND key `key` names, or NULL. */
	const struct modvmm_plugin *(*backend_plugin)(struct modvmm_check *c, const char *key);
	void *reserved[4];
};

/* ---- I/O handlers -------------------------------------------------------- */

enum modvmm_io_space {
	MODVMM_IO_PIO = 0,
	MODVMM_IO_MMIO = 1,
};

/* Handlers for a trapped range.  `offset` is relative to the registered base;
 * `size` is 1, 2, 4 or 8.  Handlers run on vCPU threads, possibly concurrently. */
struct modvmm_io_ops {
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, unsigned size, uint64_t value);
	void *reserved[2];
};

struct modvmm_io; /* a registration (opaque) */

/* ---- PCI ------------------------------------------------------------------ */

struct modvmm_pci_id {
	uint16_t vendor, device;
	uint16_t subsys_vendor, subsys_id;
	uint8_t class_code, subclass, prog_if, revision;
	uint8_t irq_pin;      /* 0: none, 1: INTA# .. 4: INTD# */
	uint8_t reserved[7];
};

/* Optional hooks for device-specific configuration registers (offset >= 0x40
 * outside capabilities the core manages).  Return 0 if handled, -ENOENT to let
 * the core apply its default (backing store with write masks: bytes at 0x40 and
 * above are read-only to the guest unless a hook handles them).  Any other error
 * drops the write / reads all ones.  Called on vCPU threads with the function's
 * (recursive) lock held: a hook may call pci_config_read/write on its own
 * function, e.g. to store what it accepted. */
struct modvmm_pci_cfg_ops {
	int (*read)(void *opaque, unsigned offset, unsigned size, uint32_t *value);
	int (*write)(void *opaque, unsigned offset, unsigned size, uint32_t value);
	/* 2.3, optional: the guest wrote `value` to the type-0 header (offset below
	 * 0x40: COMMAND, BAR registers, ...) and the core has applied it (write
	 * masks, decode bits, BAR moves); the result reads back with
	 * pci_config_read.  The core owns the header: this only tells the device,
	 * e.g. a passed-through function forwards COMMAND's bus-master bit to the
	 * real one.  Same threads and lock as write.  Read only from plugins built
	 * for 2.3 or later. */
	void (*header_written)(void *opaque, unsigned offset, unsigned size, uint32_t value);
	void *reserved[1];
};

enum modvmm_bar_type {
	MODVMM_BAR_IO = 1,
	MODVMM_BAR_MEM32 = 2,
	MODVMM_BAR_MEM64 = 3,       /* uses two BAR registers: idx and idx + 1 */
};
#define MODVMM_BAR_F_PREFETCH 1u

enum modvmm_bar_backing {
	MODVMM_BAR_TRAPPED = 1, /* accesses go to `ops` */
	MODVMM_BAR_DEVMEM = 2,  /* mapped directly from a devmem segment */
	MODVMM_BAR_HOSTBUF = 3, /* mapped directly from a page-aligned host buffer */
};

/* 2.3: a part of a TRAPPED memory BAR mapped directly (struct modvmm_bar.areas). */
struct modvmm_bar_area {
	uint64_t offset;     /* from the BAR's start; page (4 KiB) aligned */
	uint64_t size;       /* page aligned; 0 ends the list */
};
#define MODVMM_BAR_MAX_AREAS 8

/* A BAR.  size: a power of two; I/O >= 4, memory >= 16, direct-mapped (DEVMEM,
 * HOSTBUF) memory >= 4096; never I/O for direct-mapped BARs.  The core assigns
 * the address in pci_bar() (naturally aligned, memory BARs at least page
 * aligned): I/O BARs from ports 0xc000-0xffff, MEM32 from the 32-bit window
 * [3 GiB, 0xfec00000), MEM64 from the 64-bit window above RAM (>= 4 GiB, 64 GiB
 * long; -ENOSPC when the window cannot hold the BAR: too big, or full), and
 * sets the COMMAND I/O or memory decode bit as firmware would, so the BAR is
 * live before the guest runs.  The guest may then move it or turn decoding off:
 * trapped BARs move their handlers, direct-mapped ones their KVM memslot, and
 * doorbells follow. */
struct modvmm_bar {
	uint32_t type;       /* enum modvmm_bar_type */
	uint32_t flags;      /* MODVMM_BAR_F_* */
	uint64_t size;       /* power of two; >= 4096 for direct-mapped BARs */
	uint32_t backing;    /* enum modvmm_bar_backing */
	uint32_t reserved0;
	const struct modvmm_io_ops *ops; /* TRAPPED */
	void *opaque;                    /* TRAPPED: first argument of ops */
	struct modvmm_devmem *devmem;    /* DEVMEM: a segment may be smaller than the BAR;
	                                  * the rest then reads all ones */
	void *hostbuf;                   /* HOSTBUF: page aligned, `size` bytes, stays valid */
	/* 2.3, optional, TRAPPED memory BARs of 4 KiB and more: split mapping.
	 * Up to MODVMM_BAR_MAX_AREAS areas, ended by one of size 0, that `hostbuf`
	 * (page aligned, `size` bytes, e.g. an mmap of a device's BAR) backs
	 * directly as KVM memslots (no exit), except the pages that hold the
	 * MSI-X table or PBA (pci_msix_init), which the core keeps trapped.
	 * Everything else traps to `ops` as usual; doorbells in an area never
	 * fire.  Copied by pci_bar(); read only from plugins built for 2.3. */
	const struct modvmm_bar_area *areas;
	void *reserved[3];
};

/* 2.4: pci_bar()'s index of the expansion ROM (PCI Local Bus 3.0 §6.2.5.2;
 * the register at 0x30).  A TRAPPED MODVMM_BAR_MEM32 BAR without flags or
 * areas, size >= 2 KiB; the core places it like a BAR but leaves it disabled:
 * it decodes only while the guest sets both the register's ROM Enable bit
 * and COMMAND's memory space bit.  Read-only: the core drops guest writes
 * (ops->write is never called).  Doorbells and MSI-X are refused there. */
#define MODVMM_PCI_ROM_BAR 6

struct modvmm_pci;    /* a PCI function (opaque) */
struct modvmm_devmem; /* a named shared-memory segment (opaque) */

/* Doorbell delivery: either the plugin gets the eventfd (and polls it from its own
 * thread), or the core calls `cb` from its event loop. */
typedef void (*modvmm_doorbell_cb)(void *opaque, uint64_t offset);

/* ---- host services ---------------------------------------------------------- */

enum modvmm_log_level { MODVMM_LOG_ERROR = 0, MODVMM_LOG_WARN, MODVMM_LOG_INFO, MODVMM_LOG_DEBUG };

typedef void (*modvmm_fd_cb)(void *opaque, int fd, uint32_t events);
typedef void *(*modvmm_thread_fn)(void *arg);

struct modvmm_mem_region {
	uint64_t gpa;        /* guest-physical start */
	uint64_t size;
	void *hva;           /* host mapping */
	int fd;              /* memfd backing the region (for sharing with a peer) */
	int reserved0;
	uint64_t fd_offset;  /* offset of the region in fd */
	uint64_t reserved[2];
};

/* ---- ACPI --------------------------------------------------------------------- */

#define MODVMM_ACPI_MAX_IO  4
#define MODVMM_ACPI_MAX_IRQ 4

/* A device's node in the DSDT under \_SB (ACPI 6.5 §6.1 device identification,
 * §6.4 resources), passed to host->acpi_node().  The core names the
 * node `prefix` followed by its number among the nodes with that prefix (1, 2,
 * ...), which is also its _UID: serial ports become COM1, COM2, ... */
struct modvmm_acpi_node {
	uint32_t size;        /* sizeof(struct modvmm_acpi_node) as built */
	uint32_t reserved0;
	const char *prefix;   /* 1-3 characters A-Z, 0-9, '_', not starting with a digit */
	const char *hid;      /* _HID, a 7-character EISA id such as "PNP0501" */
	uint32_t nio;         /* entries used in io[] */
	uint32_t nirq;        /* entries used in irq[] */
	struct {
		uint16_t base;    /* IO (Decode16, base, base, 1, len) */
		uint16_t len;     /* 1-255 ports */
	} io[MODVMM_ACPI_MAX_IO];
	uint8_t irq[MODVMM_ACPI_MAX_IRQ]; /* IRQNoFlags: ISA IRQs 0-15, edge, active high */
	uint32_t reserved1;
	void *reserved[6];
};

/*
 * When, and from which threads, each host service may be called.
 *
 *   main     the main thread, where the core calls create(), start(), stop(),
 *            destroy(), validate() and the fd_watch callbacks;
 *   any      any thread: main, vCPU threads running I/O and config-space
 *            handlers, and the plugin's own threads.
 *
 * The core creates backends before devices (a device finds its backend in
 * create()), starts them in the same order, and stops and destroys devices
 * before backends: a backend outlives every device that uses it.
 *
 *   service                           may be called              threads
 *   log                               always                     any
 *   config_str, config_u64,           create() .. destroy()      any
 *     config_bool, instance_name,
 *     vm_name
 *   gpa_to_hva, mem_regions           create() .. destroy()      any
 *   io_register, io_unregister        create() .. destroy()      any
 *   irq_line, vm_exit                 create() .. stop()         any
 *   fd_watch, fd_unwatch              create() .. stop()         any
 *   thread_start                      create(), start()          main
 *   backend_get                       create()                   main
 *   pci_register, pci_bar,            create()                   main
 *     pci_cap_add, pci_msix_init,
 *     pci_doorbell, devmem_create
 *   pci_config_read, pci_config_write create() .. destroy()      any
 *   pci_bar_addr                      create() .. destroy()      any
 *   pci_msix_fd, pci_intx_fds         create() .. destroy()      any
 *   pci_msix_notify, pci_intx         create() .. stop()         any
 *   acpi_node                         create()                   main
 *   event (2.1)                       create() .. stop()         main
 *   backend_new, backend_free (2.1)   start() .. stop()          main
 *   pci_msi_vector (2.2)              create() .. stop()         any
 *   pci_reset (2.4)                   create() .. stop()         any
 *
 * The core calls the plugin's modvmm_pci_cfg_ops hooks (read, write and, from
 * 2.3, header_written) on vCPU threads with the function's lock held.
 */
struct modvmm_host {
	uint32_t size;       /* sizeof(struct modvmm_host) in the core */
	uint32_t abi_minor;  /* MODVMM_ABI_MINOR of the core */

	/* -- logging and configuration -- */
	void (*log)(struct modvmm_dev *dev, int level, const char *fmt, ...) MODVMM_PRINTF(3, 4);
	/* The value of `key` in this instance's section, or its schema default, or NULL.
	 * Values were validated against the schema before create(). */
	const char *(*config_str)(struct modvmm_dev *dev, const char *key);
	int (*config_u64)(struct modvmm_dev *dev, const char *key, uint64_t *out);   /* U64, SIZE, IOPORT, IRQ */
	int (*config_bool)(struct modvmm_dev *dev, const char *key, bool *out);
	const char *(*instance_name)(struct modvmm_dev *dev); /* "com1" for [device com1] */
	const char *(*vm_name)(struct modvmm_dev *dev);

	/* -- guest memory -- */
	/* Host address of [gpa, gpa + len) if the whole range lies in guest RAM, else NULL. */
	void *(*gpa_to_hva)(struct modvmm_dev *dev, uint64_t gpa, uint64_t len);
	/* Fills up to `max` RAM regions; returns how many exist (may exceed max). */
	int (*mem_regions)(struct modvmm_dev *dev, struct modvmm_mem_region *out, unsigned max);

	/* -- port and memory-mapped I/O (non-PCI devices) -- */
	MODVMM_MUST_CHECK int (*io_register)(struct modvmm_dev *dev, enum modvmm_io_space space,
	                                     uint64_t base, uint64_t len,
	                                     const struct modvmm_io_ops *ops, void *opaque,
	                                     struct modvmm_io **out);
	void (*io_unregister)(struct modvmm_dev *dev, struct modvmm_io *io);

	/* -- ISA interrupts: drive IOAPIC/PIC input `gsi` to `level`; only a line
	 *    one of the device's MODVMM_KEY_IRQ keys claims (else -EPERM) -- */
	int (*irq_line)(struct modvmm_dev *dev, unsigned gsi, int level);

	/* -- VM control -- */
	/* Stop the VM; modvmm exits with `status`.  Safe from any thread. */
	void (*vm_exit)(struct modvmm_dev *dev, int status);

	/* -- event loop and threads -- */
	/* Call cb(opaque, fd, events) from the core's event loop when fd is ready
	 * (events: EPOLLIN/EPOLLOUT bits). */
	MODVMM_MUST_CHECK int (*fd_watch)(struct modvmm_dev *dev, int fd, uint32_t events,
	                                  modvmm_fd_cb cb, void *opaque);
	void (*fd_unwatch)(struct modvmm_dev *dev, int fd);
	/* Start a named thread with all signals blocked; joined after the plugin's stop(). */
	MODVMM_MUST_CHECK int (*thread_start)(struct modvmm_dev *dev, const char *name,
	                                      modvmm_thread_fn fn, void *arg);

	/* -- backends -- */
	/* The backend instance named by this device's key `key` (a MODVMM_KEY_BACKEND).
	 * Returns the backend's private pointer and stores its descriptor in *plugin. */
	void *(*backend_get)(struct modvmm_dev *dev, const char *key,
	                     const struct modvmm_plugin **plugin);

	/* -- PCI (bus 0; see README "PCI") --
	 * pci_register places the function at the instance's MODVMM_KEY_PCI_SLOT key
	 * ("S" or "S.F") if the schema has one and it is set, else at function 0 of
	 * the next free slot from 1 that no INI section claims.  A second call from
	 * the same instance adds the next function of the same slot.  ids and the
	 * INTx pin come from *id; the config header is built from them. */
	MODVMM_MUST_CHECK int (*pci_register)(struct modvmm_dev *dev, const struct modvmm_pci_id *id,
	                                      const struct modvmm_pci_cfg_ops *cfg_ops, void *opaque,
	                                      struct modvmm_pci **out);
	MODVMM_MUST_CHECK int (*pci_bar)(struct modvmm_pci *pci, unsigned idx,
	                                 const struct modvmm_bar *bar);
	/* Append a capability; `body` starts at the capability's byte 2 (after the
	 * ID and next pointer).  Stores its config-space offset in *offset.
	 * Capabilities are laid out from 0x40 upward, dword aligned; the body is
	 * read-only to the guest (use cfg_ops hooks for writable fields).  MSI-X
	 * (ID 0x11) is refused: use pci_msix_init. */
	MODVMM_MUST_CHECK int (*pci_cap_add)(struct modvmm_pci *pci, uint8_t cap_id,
	                                     const void *body, unsigned len, unsigned *offset);
	/* Read/write the function's config space as the device (no write masks;
	 * sizes 1, 2, 4; BAR registers are read-only here: use pci_bar). */
	uint32_t (*pci_config_read)(struct modvmm_pci *pci, unsigned offset, unsigned size);
	void (*pci_config_write)(struct modvmm_pci *pci, unsigned offset, unsigned size, uint32_t v);
	/* Current guest address of a BAR, 0 when unmapped (decode off, sizing, or a
	 * placement the core refused: overlapping RAM, another BAR, the APIC area). */
	uint64_t (*pci_bar_addr)(struct modvmm_pci *pci, unsigned idx);
	/* An ioeventfd at BAR `bar` + offset (len 0 = any width; datamatch when
	 * `match` is true).  With cb == NULL, *fd receives the eventfd (owned by the
	 * core); otherwise cb runs on the event loop.  Follows BAR moves.
	 * Only on TRAPPED BARs (-EINVAL otherwise: a direct-mapped BAR never exits).
	 * len: 0, 1, 2, 4 or 8 (not 8 on I/O BARs); len 0 needs
	 * KVM_CAP_IOEVENTFD_ANY_LENGTH (-ENOTSUP without) and excludes datamatch.
	 * The eventfd is EFD_NONBLOCK and must not be closed; each caught guest write
	 * adds 1 to its counter.  cb mode: cb(opaque, offset) runs once per wakeup,
	 * after one or more writes (coalesced).  Writes that do not match (width,
	 * data) still reach the BAR's io_ops. */
	MODVMM_MUST_CHECK int (*pci_doorbell)(struct modvmm_pci *pci, unsigned bar, uint64_t offset,
	                                      unsigned len, bool match, uint64_t data,
	                                      modvmm_doorbell_cb cb, void *opaque, int *fd);
	/* MSI-X: `nvec` vectors (1-2048), table and PBA at offsets of (trapped) BARs that the
	 * core takes over.  Both BARs must be TRAPPED memory BARs already added with
	 * pci_bar; offsets 8-byte aligned; table (nvec * 16 bytes) and PBA may share
	 * a BAR but not overlap.  The core serves those ranges (DWORD and aligned
	 * QWORD accesses; others are dropped); the rest of the BAR still goes to the
	 * BAR's io_ops.  Vectors start masked; each has its own GSI and MSI route. */
	MODVMM_MUST_CHECK int (*pci_msix_init)(struct modvmm_pci *pci, unsigned nvec,
	                                       unsigned table_bar, uint64_t table_off,
	                                       unsigned pba_bar, uint64_t pba_off);
	/* An eventfd that raises vector `vec` when written (irqfd; honours masking).
	 * Owned by the core, EFD_NONBLOCK; may be handed to another thread or
	 * process (e.g. a vhost-user call fd).  While the vector or function is
	 * masked (or MSI-X disabled) writes are kept as the PBA pending bit and
	 * delivered once on unmask. */
	int (*pci_msix_fd)(struct modvmm_pci *pci, unsigned vec);
	/* Raise vector `vec` now (from any thread). */
	int (*pci_msix_notify)(struct modvmm_pci *pci, unsigned vec);
	/* INTx: assert (1) or deassert (0) the function's pin (level-triggered,
	 * active high).  Pin P of slot S drives IOAPIC GSI 16 + (S + P - 1) % 4,
	 * reported in INTERRUPT_LINE; COMMAND.INTX_DISABLE holds the line low and
	 * STATUS.INTX shows the device's level.  -EINVAL without irq_pin. */
	int (*pci_intx)(struct modvmm_pci *pci, int level);
	/* INTx by fds: *trigger asserts the pin (irqfd); *resample becomes readable when
	 * the guest EOIs the level interrupt.  Both owned by the core (EFD_NONBLOCK);
	 * a second call returns the same fds.  KVM deasserts the line at EOI; the
	 * device writes *trigger again if still pending.  COMMAND.INTX_DISABLE is
	 * not applied to this path. */
	int (*pci_intx_fds)(struct modvmm_pci *pci, int *trigger, int *resample);

	/* -- devmem: named shared memory, exported as MODVMM_RUNDIR/VM/NAME --
	 * MODVMM_RUNDIR is $MODVMM_RUNDIR or /dev/shm/modvmm; VM is the [vm] name.
	 * NAME: letters, digits, '.', '_', '-' (<= 64, not starting with '.'), unique
	 * per VM.  size is rounded up to a page; the memory is zeroed, mapped at
	 * *hva (MAP_SHARED on the exported file) and stays valid until the VM is
	 * destroyed.  The file is removed when modvmm exits (also on SIGINT/SIGTERM);
	 * -EBUSY when another running VM has the same name. */
	MODVMM_MUST_CHECK int (*devmem_create)(struct modvmm_dev *dev, const char *name,
	                                       uint64_t size, struct modvmm_devmem **out,
	                                       void **hva);

	/* -- ACPI --
	 * Describe this instance's node in the DSDT (a copy of *node is kept).  Only
	 * from create(): the tables are built once every instance is created.  May be
	 * called more than once for several nodes.  -EINVAL for a malformed node,
	 * -ENOSPC past 9 nodes of one prefix, -EBUSY after create(). */
	MODVMM_MUST_CHECK int (*acpi_node)(struct modvmm_dev *dev, const struct modvmm_acpi_node *node);

	/* -- 2.1: the control socket and run-time backends -- */
	/* Send an event to the clients of the VM's control socket that asked for
	 * events: {"event": NAME, "device": instance, "detail": the formatted text}.
	 * NAME: lower-case letters, digits and '-'. */
	void (*event)(struct modvmm_dev *dev, const char *name, const char *fmt, ...) MODVMM_PRINTF(3, 4);
	/* Create and start a backend instance now, from n "KEY=VALUE" words, one of
	 * them plugin=NAME, checked against that plugin's schema like an INI
	 * section (its validate() hook is not run; PATH values are relative to the
	 * INI file's folder; keys that claim resources — ports, slots, IRQs,
	 * backends — are refused).  The instance is named after this device
	 * ("nic0.1", "nic0.2", ...).  Returns its private pointer in *priv and its
	 * descriptor in *plugin, or -errno with a reason in err. */
	MODVMM_MUST_CHECK int (*backend_new)(struct modvmm_dev *dev, const char *const *kv, unsigned n,
	                                     void **priv, const struct modvmm_plugin **plugin,
	                                     char *err, size_t errlen);
	/* Stop and destroy a backend instance this device no longer uses: one from
	 * backend_new() or the one backend_get() returned.  `priv` is its private
	 * pointer.  -ENOENT when no backend has it. */
	int (*backend_free)(struct modvmm_dev *dev, void *priv);

	/* -- 2.2: MSI for a plugin that emulates the MSI capability itself
	 *    (PCI Local Bus 3.0 §6.8.1; add it with pci_cap_add, ID 0x05, and
	 *    handle its writes in cfg_ops), e.g. a passed-through host function --
	 * Vector `vec` (0-31) of the function: the first call gives it an eventfd
	 * (owned by the core, EFD_NONBLOCK, the same on every call) and a GSI.
	 * deliver: route the GSI to the message (addr, data) and bind the eventfd
	 * as a KVM irqfd, so a write raises the interrupt without modvmm; !deliver
	 * (MSI disabled, vector masked, bus mastering off): unbind it, writes then
	 * stay counted and are delivered when it is bound again.  Returns the
	 * eventfd or -errno. */
	int (*pci_msi_vector)(struct modvmm_pci *pci, unsigned vec, uint64_t addr, uint32_t data, bool deliver);

	/* -- 2.4: the guest's view of a function reset, as a Function Level
	 *    Reset leaves it (PCIe Base 4.0 §6.6.2), for a device that resets on
	 *    the guest's request (e.g. Initiate FLR of a passed-through function) --
	 * COMMAND reads 0 (decoding off: memslots and trapped ranges removed; bus
	 * mastering and INTx disable off), STATUS error bits cleared, every BAR's
	 * and the ROM register's address bits 0 (type bits stay) and ROM Enable
	 * off, MSI-X disabled and function-unmasked with every table entry 0 and
	 * masked and nothing pending (pci_msix_init).  Kept: ids, capabilities'
	 * read-only bodies, interrupt line, cache line, latency, and the
	 * device-specific bytes a plugin keeps itself (e.g. the MSI capability it
	 * emulates: clear its enable bit with pci_config_write and stop its
	 * vectors with pci_msi_vector).  header_written is not called.  Safe
	 * from the function's own cfg_ops hooks. */
	void (*pci_reset)(struct modvmm_pci *pci);

	void *reserved[10];
};

/* True when the core's host table has `member` (a service added after 2.0). */
#define MODVMM_HOST_HAS(host, member)                                                          \
	((host)->size >= offsetof(struct modvmm_host, member) + sizeof((host)->member) && \
	 (host)->member != NULL)

#ifdef __cplusplus
}
#endif
#endif /* MODVMM_PLUGIN_H */
