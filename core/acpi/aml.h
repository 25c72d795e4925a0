/* SPDX-License-Identifier: MIT */
/*
 * A small ACPI Machine Language (AML) writer for the DSDT: named objects,
 * scopes, devices, packages, integers, strings, resource templates, and the
 * little code the power button needs (a method, an If on an argument, Notify).
 * Encodings: ACPI 6.5 §20 "ACPI Machine Language (AML) Specification" and §6.4
 * "Resource Data Types for ACPI".
 *
 * Output goes into a caller-supplied buffer; when it is too small the writer
 * stops writing and sets `overflow` (checked once at the end).  Objects with a
 * PkgLength are written as begin/end pairs: begin returns a mark, end inserts
 * the encoded length there.
 */
#ifndef MODVMM_AML_H
#define MODVMM_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t len, cap;
	bool overflow;
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
void aml_bytes(struct aml *a, const void *p, size_t n);

/* NameString: "\\_SB_.PCI0", "_HID", "COM1"; segments shorter than 4 are padded
 * with '_'. */
void aml_name(struct aml *a, const char *path);
/* The shortest integer encoding (ZeroOp, OneOp, Byte/Word/DWord/QWordPrefix). */
void aml_integer(struct aml *a, uint64_t v);
/* A 7-character EISA id such as "PNP0A03", compressed to a DWord (§19.6.35 EISAID). */
void aml_eisaid(struct aml *a, const char *id);

/* Name (NAME, value) */
void aml_name_integer(struct aml *a, const char *name, uint64_t v);
void aml_name_eisaid(struct aml *a, const char *name, const char *id);
void aml_name_string(struct aml *a, const char *name, const char *str);

/* Method (NAME, nargs) { ... }; If (LEqual (ArgN, v)) { ... }; both closed by
 * aml_end.  Notify (PATH, v). */
size_t aml_method_begin(struct aml *a, const char *name, unsigned nargs);
size_t aml_if_arg_equals_begin(struct aml *a, unsigned arg, uint64_t v);
void aml_notify(struct aml *a, const char *path, uint64_t v);

/* Scope (NAME) { ... }, Device (NAME) { ... }, Package (n) { ... } */
size_t aml_scope_begin(struct aml *a, const char *name);
size_t aml_device_begin(struct aml *a, const char *name);
size_t aml_package_begin(struct aml *a, uint8_t nelems);
/* Name (NAME, Package (n) { ... }) */
size_t aml_name_package_begin(struct aml *a, const char *name, uint8_t nelems);
/* Name (NAME, ResourceTemplate () { ... }): the descriptors, then aml_crs_end. */
size_t aml_name_crs_begin(struct aml *a, const char *name);
void aml_crs_end(struct aml *a, size_t mark);
/* Closes what a *_begin opened. */
void aml_end(struct aml *a, size_t mark);

/* Resource descriptors (§6.4.2, §6.4.3). */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len);        /* IO (Decode16, ...) */
void aml_res_irq(struct aml *a, unsigned irq);                     /* IRQNoFlags () {irq} */
/* Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) {gsi} */
void aml_res_ext_irq_edge(struct aml *a, uint32_t gsi);
void aml_res_bus_numbers(struct aml *a, uint8_t first, uint8_t last); /* WordBusNumber */
void aml_res_io_window(struct aml *a, uint16_t first, uint16_t last); /* WordIO, producer */
void aml_res_mem32_window(struct aml *a, uint32_t first, uint32_t last, bool prefetch);
void aml_res_mem64_window(struct aml *a, uint64_t first, uint64_t last, bool prefetch);

#endif
