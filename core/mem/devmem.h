/* SPDX-License-Identifier: MIT */
/*
 * Devmem segments: named shared memory that a BAR maps directly into the guest
 * and that host tools open by name while the VM runs.
 *
 * Export: each segment is a file on tmpfs, ROOT/VMNAME/SEGNAME, where ROOT is
 * $MODVMM_RUNDIR or /dev/shm/modvmm.  The file itself is the backing (mapped
 * MAP_SHARED by modvmm), so `mmap` of the file by another process sees the same
 * bytes as the guest.  The VM folder is created on the first segment and holds
 * a lock file (.lock, flock'ed for the life of the VM): a second VM of the same
 * name is refused while the lock is held; a folder whose lock can be taken was
 * left by a killed process and is cleaned.  devmem_dir_destroy() (from
 * vm_destroy, also after SIGINT/SIGTERM and failed starts) unlinks the files and
 * removes the folder when empty.
 */
#ifndef MODVMM_DEVMEM_H
#define MODVMM_DEVMEM_H

#include <pthread.h>
#include <stdint.h>

#include <modvmm/plugin.h>

#define DEVMEM_DEFAULT_ROOT "/dev/shm/modvmm"
#define DEVMEM_ROOT_ENV     "MODVMM_RUNDIR"
#define DEVMEM_NAME_MAX     64
#define DEVMEM_PATH_MAX     1024
#define DEVMEM_LOCK_FILE    ".lock"

struct modvmm_devmem {
	struct modvmm_devmem *next;
	char name[DEVMEM_NAME_MAX + 1];
	char path[DEVMEM_PATH_MAX + DEVMEM_NAME_MAX + 2];
	int fd;
	void *hva;
	uint64_t size;
};

struct devmem_dir {
	pthread_mutex_t lock;
	char root[DEVMEM_PATH_MAX / 2];
	char vmname[DEVMEM_PATH_MAX / 4];
	char path[DEVMEM_PATH_MAX];    /* ROOT/VMNAME; "" until the folder exists */
	int lockfd;
	struct modvmm_devmem *segs;
};

/* `root` NULL: $MODVMM_RUNDIR or DEVMEM_DEFAULT_ROOT.  Touches no file yet. */
/* A VM or segment name: 1-64 letters, digits, '.', '_', '-', not starting with '.'. */
bool devmem_name_ok(const char *name);
/* $MODVMM_RUNDIR or DEVMEM_DEFAULT_ROOT: where each VM has its runtime folder. */
const char *devmem_root(void);
/* mkdir -p, folders mode 0755. */
int devmem_mkdir_p(const char *path);
void devmem_dir_init(struct devmem_dir *d, const char *root, const char *vmname);
/* Unlink and unmap every segment, remove the lock and the folder. */
void devmem_dir_destroy(struct devmem_dir *d);
/* Create segment `name` of `size` bytes (rounded up to a page), zeroed and
 * mapped.  -EINVAL for a bad name, -EEXIST for a duplicate, -EBUSY when another
 * live VM owns the folder. */
int devmem_segment_create(struct devmem_dir *d, const char *name, uint64_t size,
                          struct modvmm_devmem **out) __attribute__((warn_unused_result));

/* Host service (plugin ABI 2). */
int devmem_create(struct modvmm_dev *dev, const char *name, uint64_t size, struct modvmm_devmem **out,
                  void **hva);

#endif
