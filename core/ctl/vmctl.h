/* SPDX-License-Identifier: MIT */
/* A running VM's control socket: the requests of proto.h applied to a struct vm. */
#ifndef MODVMM_VMCTL_H
#define MODVMM_VMCTL_H

#include <jansson.h>

struct vm;
struct modvmm_dev;

/* Default socket: RUNDIR/NAME/control.sock (RUNDIR: $MODVMM_RUNDIR or
 * /dev/shm/modvmm); [vm] control = PATH or none.  A socket that cannot be made
 * (another live VM of the same name answers there, no room, no permission) is
 * reported and the VM runs without one: always returns 0 except out of memory. */
int vmctl_open(struct vm *vm) __attribute__((warn_unused_result));
void vmctl_close(struct vm *vm);
/* Send {"event": name, ...data} to every client that asked for events (main
 * thread; data is consumed, may be NULL). */
void vmctl_event(struct vm *vm, const char *name, json_t *data);
/* The default socket path of VM `name`. */
int vmctl_default_path(const char *name, char *buf, size_t len);

#define VMCTL_SOCKET_NAME "control.sock"

#endif
