/* SPDX-License-Identifier: MIT */
/* Plugin instances (dev.c); the host services they get are in host.h. */
#ifndef MODVMM_DEV_H
#define MODVMM_DEV_H

#include <pthread.h>
#include <stdbool.h>

#include <modvmm/plugin.h>

struct vm;
struct cfg_section;
struct plugin;

struct modvmm_io {
	struct modvmm_io *next;
	struct modvmm_dev *dev;
	enum modvmm_io_space space;
	int64_t id;
};

struct dev_thread {
	struct dev_thread *next;
	pthread_t thread;
};

struct modvmm_dev {
	struct vm *vm;
	const struct cfg_section *sec;
	const struct plugin *plugin;
	void *priv;
	bool created;
	bool started;
	uint32_t irqs;               /* bit N: the device claimed interrupt line N (irq keys) */
	bool irq_refused;            /* irq_line() refused once (logged once) */
	pthread_mutex_t lock;        /* protects the lists below */
	struct modvmm_io *ios;
	struct dev_thread *threads;
	struct cfg_section *own_sec; /* a backend made at run time owns its section (runtime.c) */
	unsigned runtime_seq;        /* backends this device made at run time */
};

/* Create the instance for `sec`; returns 0 or -errno (message printed). */
int dev_create(struct vm *vm, const struct cfg_section *sec, struct modvmm_dev **out);
int dev_start(struct modvmm_dev *dev);
/* stop(), join threads, unwatch fds. */
void dev_stop(struct modvmm_dev *dev);
/* destroy(), unregister what is left, free. */
void dev_destroy(struct modvmm_dev *dev);
/* runtime.c: host->backend_new and host->backend_free (plugin ABI 2.1). */
int dev_backend_new(struct modvmm_dev *dev, const char *const *kv, unsigned n, void **priv,
                    const struct modvmm_plugin **plugin, char *err, size_t errlen);
int dev_backend_free(struct modvmm_dev *dev, void *priv);
void dev_section_free(struct cfg_section *s);
/* "device com1" style label. */
const char *dev_label(const struct modvmm_dev *dev);

#endif
