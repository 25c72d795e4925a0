/* SPDX-License-Identifier: MIT */
/* Plugin instances: create, start, stop and destroy, in the order vm.c gives. */
#include "plugin/dev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/schema.h"
#include "log.h"
#include "plugin/host.h"
#include "plugin/loader.h"
#include "vm/vm.h"

const char *dev_label(const struct modvmm_dev *dev)
{
	return dev->sec->name;
}

/* The interrupt lines the section's irq keys claim (defaults included):
 * the only ones irq_line() lets the device drive. */
static uint32_t claimed_irqs(const struct cfg_section *sec)
{
	uint32_t mask = 0;
	uint64_t v;
	for (const struct modvmm_key *k = sec->plugin->desc->keys; k && k->name; k++)
		if (k->type == MODVMM_KEY_IRQ && config_u64(sec, k->name, &v) == 0 && v < SCHEMA_IRQ_LINES)
			mask |= 1u << v;
	return mask;
}

int dev_create(struct vm *vm, const struct cfg_section *sec, struct modvmm_dev **out)
{
	struct modvmm_dev *dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	*dev = (struct modvmm_dev){ .vm = vm, .sec = sec, .plugin = sec->plugin, .irqs = claimed_irqs(sec) };
	pthread_mutex_init(&dev->lock, NULL);
	*out = dev;
	int ret = sec->plugin->desc->create(&host_services, dev, &dev->priv);
	if (ret) {
		pr_err("%s:%d: [%s %s]: plugin '%s' failed to start: %s", vm->cfg->path, sec->line,
		       sec->kind == SECTION_DEVICE ? "device" : "backend", sec->name, sec->plugin->desc->name,
		       strerror(ret < 0 ? -ret : ret));
		return ret < 0 ? ret : -EIO;
	}
	dev->created = true;
	return 0;
}

int dev_start(struct modvmm_dev *dev)
{
	const struct modvmm_plugin *d = dev->plugin->desc;
	int ret = d->start ? d->start(dev->priv) : 0;
	if (ret) {
		pr_err("[%s]: plugin '%s' failed to start: %s", dev_label(dev), d->name, strerror(ret < 0 ? -ret : ret));
		return ret < 0 ? ret : -EIO;
	}
	dev->started = true;
	return 0;
}

void dev_stop(struct modvmm_dev *dev)
{
	const struct modvmm_plugin *d = dev->plugin->desc;
	evloop_unwatch_owner(&dev->vm->loop, dev);
	if (dev->created && d->stop)
		d->stop(dev->priv);
	dev->started = false;
	pthread_mutex_lock(&dev->lock);
	struct dev_thread *t = dev->threads;
	dev->threads = NULL;
	pthread_mutex_unlock(&dev->lock);
	while (t) {
		struct dev_thread *n = t->next;
		pthread_join(t->thread, NULL);
		free(t);
		t = n;
	}
}

void dev_destroy(struct modvmm_dev *dev)
{
	if (!dev)
		return;
	const struct modvmm_plugin *d = dev->plugin->desc;
	if ((dev->created || dev->priv) && d->destroy)
		d->destroy(dev->priv);
	while (dev->ios)
		host_io_unregister(dev, dev->ios);
	pthread_mutex_destroy(&dev->lock);
	dev_section_free(dev->own_sec);
	free(dev);
}
