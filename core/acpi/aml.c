/* SPDX-License-Identifier: MIT */
#include "acpi/aml.h"

#include <string.h>

/* ACPI 6.5 §20.2: opcodes and prefixes. */
#define AML_ZERO_OP        0x00
#define AML_ONE_OP         0x01
#define AML_NAME_OP        0x08
#define AML_BYTE_PREFIX    0x0a
#define AML_WORD_PREFIX    0x0b
#define AML_DWORD_PREFIX   0x0c
#define AML_QWORD_PREFIX   0x0e
#define AML_SCOPE_OP       0x10
#define AML_BUFFER_OP      0x11
#define AML_PACKAGE_OP     0x12
#define AML_STRING_PREFIX  0x0d
#define AML_METHOD_OP      0x14
#define AML_ARG0_OP        0x68 /* Arg0-Arg6: 0x68-0x6e */
#define AML_NOTIFY_OP      0x86
#define AML_LEQUAL_OP      0x93
#define AML_IF_OP          0xa0
#define AML_EXT_OP_PREFIX  0x5b
#define AML_DEVICE_OP      0x82 /* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR      '\\'
#define AML_DUAL_NAME      0x2e
#define AML_MULTI_NAME     0x2f
#define AML_NAMESEG_LEN    4
#define AML_MAX_SEGS       8
/* §20.2.4 PkgLength: one byte up to 63, else 2-4 bytes with the byte count in
 * bits 7:6 of the first byte and the length's low nibble in bits 3:0. */
#define PKG_ONE_BYTE_MAX   63
#define PKG_MAX_BYTES      4

/* §6.4: resource descriptor tags and fields. */
#define RES_IO             0x47 /* small item 0x08, 7 bytes */
#define RES_IO_DECODE16    0x01
#define RES_IRQ_NOFLAGS    0x22 /* small item 0x04, 2 bytes */
#define RES_END_TAG        0x79 /* small item 0x0f, 1 byte: checksum (0 = none) */
#define RES_EXT_IRQ        0x89 /* large item 0x09: Extended Interrupt */
#define RES_EXT_IRQ_CONSUMER 0x01
#define RES_EXT_IRQ_EDGE   0x02
#define RES_WORD_ADDR      0x88
#define RES_DWORD_ADDR     0x87
#define RES_QWORD_ADDR     0x8a
#define RES_TYPE_MEM       0
#define RES_TYPE_IO        1
#define RES_TYPE_BUS       2
#define RES_GFLAGS_PRODUCER_FIXED 0x0c /* producer, positive decode, _MIF, _MAF */
#define RES_MEM_RW         0x01
#define RES_MEM_UNCACHED   (0u << 1)
#define RES_MEM_PREFETCH   (3u << 1)
#define RES_IO_ENTIRE_RANGE 0x03

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	*a = (struct aml){ .buf = buf, .cap = cap };
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > a->cap - a->len) {
		a->overflow = true;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void le(struct aml *a, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		byte(a, (uint8_t)(v >> (8 * i)));
}

/* Insert n bytes at `at`, moving what follows. */
static void insert(struct aml *a, size_t at, const uint8_t *p, size_t n)
{
	if (a->overflow || n > a->cap - a->len) {
		a->overflow = true;
		return;
	}
	memmove(a->buf + at + n, a->buf + at, a->len - at);
	memcpy(a->buf + at, p, n);
	a->len += n;
}

static void name_seg(struct aml *a, const char *s, size_t n)
{
	char seg[AML_NAMESEG_LEN] = { '_', '_', '_', '_' };
	memcpy(seg, s, n < AML_NAMESEG_LEN ? n : AML_NAMESEG_LEN);
	aml_bytes(a, seg, AML_NAMESEG_LEN);
}

void aml_name(struct aml *a, const char *path)
{
	const char *segs[AML_MAX_SEGS];
	size_t lens[AML_MAX_SEGS];
	unsigned n = 0;
	if (*path == AML_ROOT_CHAR) {
		byte(a, AML_ROOT_CHAR);
		path++;
	}
	while (*path && n < AML_MAX_SEGS) {
		const char *dot = strchr(path, '.');
		size_t len = dot ? (size_t)(dot - path) : strlen(path);
		segs[n] = path, lens[n++] = len;
		path += len + (dot ? 1 : 0);
	}
	if (n == 2)
		byte(a, AML_DUAL_NAME);
	else if (n > 2) {
		byte(a, AML_MULTI_NAME);
		byte(a, (uint8_t)n);
	}
	for (unsigned i = 0; i < n; i++)
		name_seg(a, segs[i], lens[i]);
	if (n == 0)
		byte(a, AML_ZERO_OP); /* NullName */
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0)
		byte(a, AML_ZERO_OP);
	else if (v == 1)
		byte(a, AML_ONE_OP);
	else if (v <= UINT8_MAX)
		byte(a, AML_BYTE_PREFIX), le(a, v, 1);
	else if (v <= UINT16_MAX)
		byte(a, AML_WORD_PREFIX), le(a, v, 2);
	else if (v <= UINT32_MAX)
		byte(a, AML_DWORD_PREFIX), le(a, v, 4);
	else
		byte(a, AML_QWORD_PREFIX), le(a, v, 8);
}

static unsigned hexval(char c)
{
	return c >= '0' && c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10) & 0xf;
}

/* Three letters of 5 bits ('A' = 1) then four hex digits, stored big-endian. */
void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = ((uint32_t)(id[0] - '@') << 26) | ((uint32_t)(id[1] - '@') << 21) |
	             ((uint32_t)(id[2] - '@') << 16) | (hexval(id[3]) << 12) |
	             (hexval(id[4]) << 8) | (hexval(id[5]) << 4) | hexval(id[6]);
	byte(a, AML_DWORD_PREFIX);
	for (int i = 3; i >= 0; i--)
		byte(a, (uint8_t)(v >> (8 * i)));
}

void aml_name_integer(struct aml *a, const char *name, uint64_t v)
{
	byte(a, AML_NAME_OP);
	aml_name(a, name);
	aml_integer(a, v);
}

void aml_name_eisaid(struct aml *a, const char *name, const char *id)
{
	byte(a, AML_NAME_OP);
	aml_name(a, name);
	aml_eisaid(a, id);
}

void aml_name_string(struct aml *a, const char *name, const char *str)
{
	byte(a, AML_NAME_OP);
	aml_name(a, name);
	byte(a, AML_STRING_PREFIX);
	aml_bytes(a, str, strlen(str) + 1);
}

size_t aml_method_begin(struct aml *a, const char *name, unsigned nargs)
{
	byte(a, AML_METHOD_OP);
	size_t mark = a->len;
	aml_name(a, name);
	byte(a, (uint8_t)(nargs & 7)); /* MethodFlags: not serialized, SyncLevel 0 */
	return mark;
}

size_t aml_if_arg_equals_begin(struct aml *a, unsigned arg, uint64_t v)
{
	byte(a, AML_IF_OP);
	size_t mark = a->len;
	byte(a, AML_LEQUAL_OP);
	byte(a, (uint8_t)(AML_ARG0_OP + (arg % 7)));
	aml_integer(a, v);
	return mark;
}

void aml_notify(struct aml *a, const char *path, uint64_t v)
{
	byte(a, AML_NOTIFY_OP);
	aml_name(a, path);
	aml_integer(a, v);
}

size_t aml_scope_begin(struct aml *a, const char *name)
{
	byte(a, AML_SCOPE_OP);
	size_t mark = a->len;
	aml_name(a, name);
	return mark;
}

size_t aml_device_begin(struct aml *a, const char *name)
{
	byte(a, AML_EXT_OP_PREFIX);
	byte(a, AML_DEVICE_OP);
	size_t mark = a->len;
	aml_name(a, name);
	return mark;
}

size_t aml_package_begin(struct aml *a, uint8_t nelems)
{
	byte(a, AML_PACKAGE_OP);
	size_t mark = a->len;
	byte(a, nelems);
	return mark;
}

void aml_end(struct aml *a, size_t mark)
{
	if (a->overflow)
		return;
	size_t body = a->len - mark;
	uint8_t enc[PKG_MAX_BYTES];
	unsigned n = body + 1 <= PKG_ONE_BYTE_MAX ? 1 : body + 2 < (1u << 12) ? 2 :
	             body + 3 < (1u << 20) ? 3 : 4;
	size_t total = body + n;
	if (n == 1) {
		enc[0] = (uint8_t)total;
	} else {
		enc[0] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
		for (unsigned i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	insert(a, mark, enc, n);
}

size_t aml_name_package_begin(struct aml *a, const char *name, uint8_t nelems)
{
	byte(a, AML_NAME_OP);
	aml_name(a, name);
	return aml_package_begin(a, nelems);
}

size_t aml_name_crs_begin(struct aml *a, const char *name)
{
	byte(a, AML_NAME_OP);
	aml_name(a, name);
	byte(a, AML_BUFFER_OP);
	return a->len;
}

void aml_crs_end(struct aml *a, size_t mark)
{
	uint8_t size[9];
	byte(a, RES_END_TAG);
	byte(a, 0);
	if (a->overflow)
		return;
	/* BufferSize, then the PkgLength covering it and the bytes */
	struct aml tmp;
	aml_init(&tmp, size, sizeof(size));
	aml_integer(&tmp, a->len - mark);
	insert(a, mark, size, tmp.len);
	aml_end(a, mark);
}

void aml_res_io(struct aml *a, uint16_t base, uint8_t len)
{
	byte(a, RES_IO);
	byte(a, RES_IO_DECODE16);
	le(a, base, 2);   /* minimum */
	le(a, base, 2);   /* maximum */
	byte(a, 1);       /* alignment */
	byte(a, len);
}

void aml_res_irq(struct aml *a, unsigned irq)
{
	byte(a, RES_IRQ_NOFLAGS);
	le(a, 1u << irq, 2);
}

void aml_res_ext_irq_edge(struct aml *a, uint32_t gsi)
{
	byte(a, RES_EXT_IRQ);
	le(a, 6, 2);      /* flags, count, one DWORD */
	byte(a, RES_EXT_IRQ_CONSUMER | RES_EXT_IRQ_EDGE); /* active high, exclusive */
	byte(a, 1);
	le(a, gsi, 4);
}

/* Address space descriptor: tag, length, type, flags, then granularity, minimum,
 * maximum, translation offset and length, each `w` bytes wide (§6.4.3.5). */
static void addr_space(struct aml *a, uint8_t tag, unsigned w, uint8_t type, uint8_t tflags,
                       uint64_t first, uint64_t last)
{
	byte(a, tag);
	le(a, 3 + 5 * w, 2);
	byte(a, type);
	byte(a, RES_GFLAGS_PRODUCER_FIXED);
	byte(a, tflags);
	le(a, 0, w);
	le(a, first, w);
	le(a, last, w);
	le(a, 0, w);
	le(a, last - first + 1, w);
}

void aml_res_bus_numbers(struct aml *a, uint8_t first, uint8_t last)
{
	addr_space(a, RES_WORD_ADDR, 2, RES_TYPE_BUS, 0, first, last);
}

void aml_res_io_window(struct aml *a, uint16_t first, uint16_t last)
{
	addr_space(a, RES_WORD_ADDR, 2, RES_TYPE_IO, RES_IO_ENTIRE_RANGE, first, last);
}

void aml_res_mem32_window(struct aml *a, uint32_t first, uint32_t last, bool prefetch)
{
	addr_space(a, RES_DWORD_ADDR, 4, RES_TYPE_MEM,
	           RES_MEM_RW | (prefetch ? RES_MEM_PREFETCH : RES_MEM_UNCACHED), first, last);
}

void aml_res_mem64_window(struct aml *a, uint64_t first, uint64_t last, bool prefetch)
{
	addr_space(a, RES_QWORD_ADDR, 8, RES_TYPE_MEM,
	           RES_MEM_RW | (prefetch ? RES_MEM_PREFETCH : RES_MEM_UNCACHED), first, last);
}
