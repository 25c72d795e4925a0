/* SPDX-License-Identifier: MIT */
/*
 * A fake host-services table for the network plugins' unit tests: configuration
 * from a key/value list, captured log lines, guest RAM as a plain buffer at
 * guest-physical 0, threads, a backend instance, and a fake PCI function that
 * records BARs, capabilities, doorbells (eventfds) and MSI-X vectors (eventfds).
 */
#ifndef NET_FAKE_H
#define NET_FAKE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <modvmm/net.h>
#include <modvmm/plugin.h>

#define FAKE_MAX_KEYS 16
#define FAKE_MAX_THREADS 16
#define FAKE_MAX_BELLS 32
#define FAKE_MAX_VECS 32
#define FAKE_MAX_CAPS 8
#define FAKE_CFG_SIZE 256
#define FAKE_LOG_SIZE 8192

struct fake_cap {
	uint8_t id;
	uint8_t body[64];
	unsigned len, offset;
};

struct fake_bell {
	unsigned bar;
	uint64_t offset;
	int fd;                       /* when cb == NULL */
	modvmm_doorbell_cb cb;
	void *opaque;
};

struct fake_host {
	struct modvmm_host host;
	const char *keys[FAKE_MAX_KEYS][2];
	char log[FAKE_LOG_SIZE];      /* every log line, '\n'-separated */
	unsigned errors;
	/* guest RAM at gpa 0 */
	uint8_t *ram;
	uint64_t ram_size;
	/* threads */
	pthread_t threads[FAKE_MAX_THREADS];
	unsigned nthreads;
	/* the backend named by key "backend" */
	const struct modvmm_plugin *backend_desc;
	void *backend_priv;
	/* PCI */
	bool pci_registered;
	struct modvmm_pci_id pci_id;
	struct modvmm_bar bars[6];
	struct fake_cap caps[FAKE_MAX_CAPS];
	unsigned ncaps;
	uint8_t cfg[FAKE_CFG_SIZE];
	struct fake_bell bells[FAKE_MAX_BELLS];
	unsigned nbells;
	const struct modvmm_pci_cfg_ops *cfg_ops;
	void *cfg_opaque;
	unsigned last_cap;
	unsigned msix_nvec;
	int msix_fd[FAKE_MAX_VECS];
	unsigned msix_notified[FAKE_MAX_VECS];
	int intx;
	/* event-loop watches */
	struct { int fd; modvmm_fd_cb cb; void *opaque; } watch[8];
	unsigned nwatch;
};

/* Set up a fake host; keys are "name", "value" pairs ending with NULL. */
void fake_init(struct fake_host *f, uint64_t ram_size, ...);
/* Join the plugin's threads (after its stop()) and free everything. */
void fake_join_threads(struct fake_host *f);
void fake_free(struct fake_host *f);
/* Replace or add a key. */
void fake_set_key(struct fake_host *f, const char *key, const char *value);

/* The dev handle to pass to create(): the fake itself. */
static inline struct modvmm_dev *fake_dev(struct fake_host *f)
{
	return (struct modvmm_dev *)f;
}

/* Dispatch ready watched fds once (the event loop's job); returns how many ran. */
unsigned fake_run_watches(struct fake_host *f, int timeout_ms);
/* Guest configuration access: the device's hooks first, as the core does. */
uint32_t fake_cfg_read(struct fake_host *f, unsigned off, unsigned size);
void fake_cfg_write(struct fake_host *f, unsigned off, unsigned size, uint32_t v);

/* Read an eventfd's counter without blocking; 0 when not signalled. */
uint64_t fake_efd_read(int fd);
/* True when fd polls ready for `events` within timeout_ms. */
bool fake_poll(int fd, short events, int timeout_ms);

#endif
