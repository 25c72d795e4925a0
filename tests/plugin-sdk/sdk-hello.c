/* SPDX-License-Identifier: MIT */
/*
 * An out-of-tree plugin: built only with `pkg-config modvmm-plugin` against an
 * installed modvmm, never with the project's own build.  It claims a port that
 * reads back a magic value and says hello through the host's log service.
 */
#include <errno.h>
#include <stdlib.h>

#include <modvmm/plugin.h>

#define SDK_MAGIC 0x5d

struct sdk_hello {
	const struct modvmm_host *host;
	struct modvmm_dev *dev;
};

static uint64_t magic_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque;
	(void)offset;
	(void)size;
	return SDK_MAGIC;
}

static const struct modvmm_io_ops ops = { .read = magic_read };

static int sdk_create(const struct modvmm_host *host, struct modvmm_dev *dev, void **priv)
{
	/* every service used here exists since ABI 2.0: no MODVMM_HOST_HAS needed */
	struct sdk_hello *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->host = host;
	h->dev = dev;
	*priv = h;
	uint64_t port;
	int ret = host->config_u64(dev, "port", &port);
	if (ret)
		return ret;
	host->log(dev, MODVMM_LOG_WARN, "sdk-hello: instance '%s' of VM '%s' greets on port 0x%llx (greeting: %s)",
	          host->instance_name(dev), host->vm_name(dev), (unsigned long long)port,
	          host->config_str(dev, "greeting"));
	return host->io_register(dev, MODVMM_IO_PIO, port, 1, &ops, h, NULL);
}

static void sdk_destroy(void *priv)
{
	free(priv);
}

static const struct modvmm_key keys[] = {
	{ .name = "port", .type = MODVMM_KEY_IOPORT, .def = "0x510", .span = 1, .help = "reads return 0x5d" },
	{ .name = "greeting", .type = MODVMM_KEY_STRING, .def = "hi", .help = "logged at start" },
	{ 0 },
};

MODVMM_PLUGIN_DEFINE = {
	MODVMM_PLUGIN_ABI,
	.kind = MODVMM_KIND_DEVICE,
	.name = "sdk-hello",
	.description = "out-of-tree example plugin",
	.keys = keys,
	.create = sdk_create,
	.destroy = sdk_destroy,
};
