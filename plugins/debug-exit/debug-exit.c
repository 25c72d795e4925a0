/* SPDX-License-Identifier: MIT */
/*
 * debug-exit: a port the guest writes to end the VM with a status (in the spirit
 * of QEMU's isa-debug-exit, but the status is the value written, not 2v+1), and a
 * Bochs-style debug console port (0xe9) that prints each byte written.
 */
#include <errno.h>
#include <stdlib.h>

#include <modvmm/plugin.h>

#include "out.h"

#define DEBUGCON_READBACK 0xe9 /* Bochs convention: reading the port returns 0xe9 */

struct debug_exit {
	const struct modvmm_host *host;
	struct modvmm_dev *dev;
	struct out con;
};

static void exit_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct debug_exit *d = opaque;
	d->host->vm_exit(d->dev, (int)(value & 0xff));
}

static uint64_t con_read(void *opaque, uint64_t offset, unsigned size)
{
	return DEBUGCON_READBACK;
}

static void con_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct debug_exit *d = opaque;
	char c = (char)value;
	out_write(&d->con, &c, 1);
}

static const struct modvmm_io_ops exit_ops = { .write = exit_write };
static const struct modvmm_io_ops con_ops = { .read = con_read, .write = con_write };

static void debug_exit_destroy(void *priv)
{
	struct debug_exit *d = priv;
	if (!d)
		return;
	out_close(&d->con);
	free(d);
}

static int debug_exit_create(const struct modvmm_host *host, struct modvmm_dev *dev, void **priv)
{
	struct debug_exit *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->host = host;
	d->dev = dev;
	d->con.fd = -1;
	*priv = d;
	uint64_t port, con_port;
	int ret = host->config_u64(dev, "port", &port);
	if (!ret)
		ret = host->config_u64(dev, "console_port", &con_port);
	if (!ret)
		ret = out_open(&d->con, host->config_str(dev, "console"), host->config_str(dev, "console_file"));
	if (ret) {
		host->log(dev, MODVMM_LOG_ERROR, "cannot open the console output: %d", ret);
		return ret;
	}
	ret = host->io_register(dev, MODVMM_IO_PIO, port, 1, &exit_ops, d, NULL);
	if (!ret)
		ret = host->io_register(dev, MODVMM_IO_PIO, con_port, 1, &con_ops, d, NULL);
	return ret;
}

static int debug_exit_validate(const struct modvmm_check_ops *chk, struct modvmm_check *c)
{
	return out_check(chk, c, "console", "console_file");
}

static const struct modvmm_key keys[] = {
	{ .name = "port", .type = MODVMM_KEY_IOPORT, .def = "0x501", .span = 1,
	  .help = "writing V here ends the VM with exit status V & 0xff" },
	{ .name = "console_port", .type = MODVMM_KEY_IOPORT, .def = "0xe9", .span = 1,
	  .help = "debug console: each byte written is printed" },
	{ .name = "console", .type = MODVMM_KEY_ENUM, .def = "stdout", .choices = OUT_CHOICES,
	  .help = "where the debug console goes" },
	{ .name = "console_file", .type = MODVMM_KEY_PATH, .help = "file for console = file (appended)" },
	{ 0 },
};

MODVMM_PLUGIN_DEFINE = {
	MODVMM_PLUGIN_ABI,
	.kind = MODVMM_KIND_DEVICE,
	.name = "debug-exit",
	.description = "exit port (guest-chosen exit status) and 0xe9 debug console",
	.keys = keys,
	.create = debug_exit_create,
	.destroy = debug_exit_destroy,
	.validate = debug_exit_validate,
};
