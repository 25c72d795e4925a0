/* SPDX-License-Identifier: MIT */
#include "mem/devmem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/dev.h"
#include "log.h"
#include "vm/vm.h"

#define DEVMEM_PAGE      4096ULL
#define DEVMEM_DIR_MODE  0755
#define DEVMEM_FILE_MODE 0600
#define DEVMEM_RETRIES   3     /* a concurrent VM may remove an empty root under us */

const char *devmem_root(void)
{
	const char *root = getenv(DEVMEM_ROOT_ENV);
	return root && *root ? root : DEVMEM_DEFAULT_ROOT;
}

void devmem_dir_init(struct devmem_dir *d, const char *root, const char *vmname)
{
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	d->lockfd = -1;
	if (!root)
		root = devmem_root();
	snprintf(d->root, sizeof(d->root), "%s", root);
	snprintf(d->vmname, sizeof(d->vmname), "%s", vmname ? vmname : "");
}

/* A file name of letters, digits, '.', '_' and '-', not starting with '.'. */
bool devmem_name_ok(const char *n)
{
	size_t len = strlen(n);
	if (len == 0 || len > DEVMEM_NAME_MAX || n[0] == '.')
		return false;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

int devmem_mkdir_p(const char *path)
{
	char buf[DEVMEM_PATH_MAX];
	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || !*p) {
			char c = *p;
			*p = 0;
			if (mkdir(buf, DEVMEM_DIR_MODE) && errno != EEXIST)
				return -errno;
			*p = c;
			if (!c)
				return 0;
		}
	}
}

/* The folder's previous owner was killed: remove what it left. */
static void clean_stale(const char *path)
{
	DIR *dir = opendir(path);
	if (!dir)
		return;
	for (struct dirent *e; (e = readdir(dir));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, DEVMEM_LOCK_FILE))
			continue;
		if (unlinkat(dirfd(dir), e->d_name, 0) == 0)
			pr_warn("devmem: removed %s/%s left by a VM that did not exit cleanly", path, e->d_name);
	}
	closedir(dir);
}

static int open_dir(struct devmem_dir *d)
{
	if (d->path[0])
		return 0;
	if (!devmem_name_ok(d->vmname)) {
		pr_err("devmem: the VM name '%s' cannot name a folder (letters, digits, '.', '_', '-')", d->vmname);
		return -EINVAL;
	}
	char path[sizeof(d->path)], lock[sizeof(d->path) + sizeof(DEVMEM_LOCK_FILE) + 1];
	snprintf(path, sizeof(path), "%s/%s", d->root, d->vmname);
	snprintf(lock, sizeof(lock), "%s/%s", path, DEVMEM_LOCK_FILE);
	int fd = -1, ret = 0;
	for (int i = 0; i < DEVMEM_RETRIES && fd < 0; i++) {
		if ((ret = devmem_mkdir_p(path)))
			continue;
		fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, DEVMEM_FILE_MODE);
		ret = fd < 0 ? -errno : 0;
	}
	if (fd < 0) {
		pr_err("devmem: cannot create %s: %s", lock, strerror(-ret));
		return ret;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		ret = errno == EWOULDBLOCK ? -EBUSY : -errno;
		if (ret == -EBUSY)
			pr_err("devmem: a VM named '%s' is already running (it holds %s); choose another [vm] name",
			       d->vmname, lock);
		else
			pr_err("devmem: cannot lock %s: %s", lock, strerror(-ret));
		close(fd);
		return ret;
	}
	clean_stale(path);
	d->lockfd = fd;
	snprintf(d->path, sizeof(d->path), "%s", path);
	return 0;
}

static int segment_open(struct modvmm_devmem *s, uint64_t size)
{
	s->fd = open(s->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, DEVMEM_FILE_MODE);
	if (s->fd < 0)
		return -errno;
	/* reserve the tmpfs pages now: a full /dev/shm must fail here, not fault the guest later */
	int ret = posix_fallocate(s->fd, 0, (off_t)size);
	if (ret == EOPNOTSUPP || ret == EINVAL)
		ret = ftruncate(s->fd, (off_t)size) ? errno : 0;
	if (!ret) {
		s->hva = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
		ret = s->hva == MAP_FAILED ? errno : 0;
	}
	if (ret) {
		s->hva = NULL;
		close(s->fd);
		unlink(s->path);
		return -ret;
	}
	s->size = size;
	return 0;
}

int devmem_segment_create(struct devmem_dir *d, const char *name, uint64_t size, struct modvmm_devmem **out)
{
	if (!name || !devmem_name_ok(name) || size == 0 || size > UINT64_MAX - DEVMEM_PAGE)
		return -EINVAL;
	size = (size + DEVMEM_PAGE - 1) & ~(DEVMEM_PAGE - 1);
	pthread_mutex_lock(&d->lock);
	int ret = open_dir(d);
	for (struct modvmm_devmem *s = d->segs; !ret && s; s = s->next)
		if (!strcmp(s->name, name))
			ret = -EEXIST;
	struct modvmm_devmem *s = ret ? NULL : calloc(1, sizeof(*s));
	if (!ret && !s)
		ret = -ENOMEM;
	if (!ret) {
		snprintf(s->name, sizeof(s->name), "%s", name);
		snprintf(s->path, sizeof(s->path), "%s/%s", d->path, name);
		ret = segment_open(s, size);
		if (ret) {
			pr_err("devmem: cannot create %s (%llu bytes): %s", s->path, (unsigned long long)size, strerror(-ret));
			free(s);
		} else {
			s->next = d->segs;
			d->segs = s;
			*out = s;
		}
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

void devmem_dir_destroy(struct devmem_dir *d)
{
	while (d->segs) {
		struct modvmm_devmem *s = d->segs;
		d->segs = s->next;
		munmap(s->hva, s->size);
		close(s->fd);
		unlink(s->path);
		free(s);
	}
	if (d->path[0]) {
		char lock[sizeof(d->path) + sizeof(DEVMEM_LOCK_FILE) + 1];
		snprintf(lock, sizeof(lock), "%s/%s", d->path, DEVMEM_LOCK_FILE);
		unlink(lock);
		close(d->lockfd);
		rmdir(d->path);     /* fails harmlessly if a new VM of this name already moved in */
		rmdir(d->root);     /* only when no other VM uses it */
		d->path[0] = 0;
		d->lockfd = -1;
	}
	pthread_mutex_destroy(&d->lock);
}

int devmem_create(struct modvmm_dev *dev, const char *name, uint64_t size, struct modvmm_devmem **out, void **hva)
{
	struct vm *vm = dev->vm;
	if (!vm->devmem || !out)
		return -EINVAL;
	struct modvmm_devmem *s;
	int ret = devmem_segment_create(vm->devmem, name, size, &s);
	if (ret) {
		log_msg(MODVMM_LOG_ERROR, dev_label(dev), "devmem segment '%s': %s", name ? name : "(null)", strerror(-ret));
		return ret;
	}
	if ((size_t)snprintf(vm->rundir, sizeof(vm->rundir), "%s", vm->devmem->path) >= sizeof(vm->rundir))
		vm->rundir[0] = 0;    /* too long to record; the segments are still exported */
	log_msg(MODVMM_LOG_INFO, dev_label(dev), "devmem segment '%s': %llu bytes at %s", s->name,
	        (unsigned long long)s->size, s->path);
	*out = s;
	if (hva)
		*hva = s->hva;
	return 0;
}
