/* SPDX-License-Identifier: MIT */
/* The host services of plugin ABI 2 (<modvmm/plugin.h>), implemented in host.c. */
#ifndef MODVMM_HOST_H
#define MODVMM_HOST_H

#include <modvmm/plugin.h>

/* The table handed to every plugin's create(). */
extern const struct modvmm_host host_services;

/* host->io_unregister; dev_destroy() also uses it for what is left. */
void host_io_unregister(struct modvmm_dev *dev, struct modvmm_io *io);

#endif
