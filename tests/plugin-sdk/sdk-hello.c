/* SPDX-License-Identifier: MIT */
/*
 * A complete third-party device, built only against an installed modvmm
 * (pkg-config modvmm-plugin): a one-byte mailbox at `port`.  A guest write stores
 * the byte and raises ISA interrupt `irq`; a read returns it (SDK_MAGIC before any
 * write) and lowers the line.  It describes itself in the ACPI DSDT (SDK1, ...);
 * `check` refuses an empty greeting.  All services used exist since ABI 2.0.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include <modvmm/plugin.h>

#define SDK_MAGIC 0x5d
struct sdk_hello {
	const struct modvmm_host *host;
	struct modvmm_dev *dev;
	pthread_mutex_t lock; /* I/O handlers run on vCPU threads, possibly at once */
	unsigned irq;         /* the ISA line a write raises */
	uint8_t value;        /* the mailbox */
};

static uint64_t mbox_read(void *opaque, uint64_t offset, unsigned size)
{
	struct sdk_hello *h = opaque;
	(void)offset, (void)size; /* one port, any width */
	pthread_mutex_lock(&h->lock);
	uint8_t v = h->value;
	h->host->irq_line(h->dev, h->irq, 0);
	pthread_mutex_unlock(&h->lock);
	return v;
}

static void mbox_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct sdk_hello *h = opaque;
	(void)offset, (void)size;
	pthread_mutex_lock(&h->lock);
	h->value = (uint8_t)value;
	h->host->irq_line(h->dev, h->irq, 1);
	pthread_mutex_unlock(&h->lock);
}

static const struct modvmm_io_ops mbox_ops = { .read = mbox_read, .write = mbox_write };
static int sdk_create(const struct modvmm_host *host, struct modvmm_dev *dev, void **priv)
{
	struct sdk_hello *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	*h = (struct sdk_hello){ .host = host, .dev = dev, .value = SDK_MAGIC };
	pthread_mutex_init(&h->lock, NULL);
	*priv = h;
	uint64_t port, irq;
	int ret = host->config_u64(dev, "port", &port);
	if (ret || (ret = host->config_u64(dev, "irq", &irq)))
		return ret;
	h->irq = (unsigned)irq;
	struct modvmm_acpi_node node = { .size = sizeof(node), .prefix = "SDK", .hid = "MVM0001",
	                                 .nio = 1, .io = { { (uint16_t)port, 1 } }, .nirq = 1, .irq = { (uint8_t)irq } };
	if ((ret = host->acpi_node(dev, &node)))
		return ret;
	host->log(dev, MODVMM_LOG_WARN, "sdk-hello: instance '%s' of VM '%s' greets on port 0x%llx (greeting: %s)",
	          host->instance_name(dev), host->vm_name(dev), (unsigned long long)port, host->config_str(dev, "greeting"));
	return host->io_register(dev, MODVMM_IO_PIO, port, 1, &mbox_ops, h, NULL);
}

static void sdk_destroy(void *priv)
{
	struct sdk_hello *h = priv;
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static int sdk_validate(const struct modvmm_check_ops *chk, struct modvmm_check *c)
{
	const char *g = chk->config_str(c, "greeting");
	if (g && !*g)
		chk->error(c, "greeting", "must not be empty");
	return g && !*g ? -EINVAL : 0;
}

static const struct modvmm_key keys[] = {
	{ .name = "port", .type = MODVMM_KEY_IOPORT, .def = "0x510", .span = 1, .help = "the mailbox" },
	{ .name = "irq", .type = MODVMM_KEY_IRQ, .def = "5", .range = "0-15", .help = "raised on a write" },
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
	.validate = sdk_validate,
};
