// SPDX-License-Identifier: GPL-2.0
/*
 * nmguest: a ptnetmap-memdev port in guest userspace, through UIO.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nmguest.h"

static uint32_t reg_read(const struct nmguest *g, unsigned int off)
{
	return *(const volatile uint32_t *)(g->regs + off);
}

static void reg_write(struct nmguest *g, unsigned int off, uint32_t v)
{
	*(volatile uint32_t *)(g->regs + off) = v;
}

static uint32_t rd(const void *ctx, unsigned int off)
{
	return reg_read(ctx, off);
}

int nmguest_attach(struct nmguest *g, void *regs, size_t regs_size, void *mem,
		   size_t mem_size)
{
	unsigned int i;

	g->regs = regs;
	g->regs_size = regs_size;
	g->mem = mem;
	g->mem_size = mem_size;
	g->kicks = g->irqs = 0;
	/* one read per register: the checked copies are what we use from now on */
	if (regs_size < PTNET_MDEV_IO_SIZE ||
	    !nmport_view_from_regs(&g->view, rd, g, mem, mem_size))
		return -EINVAL;
	g->nr = g->view.geom.nr_rings;
	for (i = 0; i < g->nr; i++) {
		nm_uring_attach(&g->tx[i], &g->view, i);
		nm_uring_attach(&g->rx[i], &g->view, g->nr + i);
	}
	return 0;
}

/* The uioN bound to PCI function `addr`, from /sys/bus/pci/devices/ADDR/uio/. */
static int find_uio(const char *addr, char *name, size_t len)
{
	char path[256];
	struct dirent *e;
	DIR *d;
	int err = -ENODEV;

	if (snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/uio", addr) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	d = opendir(path);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "uio", 3) == 0 && snprintf(name, len, "%s", e->d_name) < (int)len) {
			err = 0;
			break;
		}
	}
	closedir(d);
	return err;
}

static long map_size(const char *uio, int map)
{
	char path[256], buf[32];
	long size = -EIO;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/uio/%s/maps/map%d/size", uio, map);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fgets(buf, sizeof(buf), f))
		size = strtol(buf, NULL, 0);
	fclose(f);
	return size > 0 ? size : -EIO;
}

int nmguest_open(const char *pci_addr, struct nmguest *g)
{
	char uio[64], dev[80];
	long page = sysconf(_SC_PAGESIZE), s0, s1;
	void *regs, *mem;
	int err;

	memset(g, 0, sizeof(*g));
	g->fd = -1;
	err = find_uio(pci_addr, uio, sizeof(uio));
	if (err < 0)
		return err;
	s0 = map_size(uio, 0);
	s1 = map_size(uio, 1);
	if (s0 < 0 || s1 < 0)
		return s0 < 0 ? (int)s0 : (int)s1;
	snprintf(dev, sizeof(dev), "/dev/%s", uio);
	g->fd = open(dev, O_RDWR | O_CLOEXEC);
	if (g->fd < 0)
		return -errno;
	/* UIO: map N is at offset N pages */
	regs = mmap(NULL, (size_t)s0, PROT_READ | PROT_WRITE, MAP_SHARED, g->fd, 0);
	mem = mmap(NULL, (size_t)s1, PROT_READ | PROT_WRITE, MAP_SHARED, g->fd, page);
	if (regs == MAP_FAILED || mem == MAP_FAILED) {
		err = -errno;
		if (regs != MAP_FAILED)
			munmap(regs, (size_t)s0);
		if (mem != MAP_FAILED)
			munmap(mem, (size_t)s1);
		close(g->fd);
		g->fd = -1;
		return err;
	}
	g->mapped = true;
	err = nmguest_attach(g, regs, (size_t)s0, mem, (size_t)s1);
	if (err < 0)
		nmguest_close(g);
	return err;
}

void nmguest_close(struct nmguest *g)
{
	if (g->mapped) {
		munmap(g->regs, g->regs_size);
		munmap(g->mem, g->mem_size);
		g->mapped = false;
	}
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
}

bool nmguest_link_up(const struct nmguest *g)
{
	return reg_read(g, PTNET_MDEV_IO_LINK) & 1;
}

static void kick(struct nmguest *g, unsigned int ring)
{
	reg_write(g, PTNET_MDEV_IO_KICK(ring), ring);
	g->kicks++;
}

void nmguest_txsync(struct nmguest *g, unsigned int i)
{
	if (nm_uring_publish(&g->tx[i]))
		kick(g, i);
	nm_uring_update(&g->tx[i]);
}

void nmguest_rxsync(struct nmguest *g, unsigned int i)
{
	if (nm_uring_publish(&g->rx[i]))
		kick(g, g->nr + i);
	nm_uring_update(&g->rx[i]);
}

int nmguest_wait(struct nmguest *g, unsigned int i, unsigned int events, int timeout_ms)
{
	struct pollfd p = { .fd = g->fd, .events = POLLIN };
	uint32_t count;
	int r;

	if (events & NMGUEST_POLLOUT) {
		nmguest_txsync(g, i);
		if (nm_uring_space(&g->tx[i]) || !nm_uring_prepare_sleep(&g->tx[i]))
			return 1;
	}
	if (events & NMGUEST_POLLIN) {
		nmguest_rxsync(g, i);
		if (nm_uring_space(&g->rx[i]) || !nm_uring_prepare_sleep(&g->rx[i]))
			return 1;
	}
	if (g->fd < 0)
		return 0;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return r < 0 ? -errno : 0;
	if (read(g->fd, &count, sizeof(count)) != (ssize_t)sizeof(count))
		return -errno;
	g->irqs++;
	return 1;
}
