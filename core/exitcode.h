/* SPDX-License-Identifier: MIT */
/*
 * modvmm's own exit statuses: a range of their own, 240-243, so that a script
 * can tell them from the status a device reports for the guest (host->vm_exit, passed through, & 0xff; a
 * guest that writes 240-255 is warned about).  Documented in modvmm(1) and
 * `modvmm --help`.
 */
#ifndef MODVMM_EXITCODE_H
#define MODVMM_EXITCODE_H

#define EXIT_MODVMM_FIRST 240
#define EXIT_USAGE        240 /* bad command line */
#define EXIT_CONFIG       241 /* the INI file was refused (FILE:LINE: errors), or `plugins` found a bad file */
#define EXIT_START        242 /* the VM could not start: no usable /dev/kvm, resources, a plugin's create/start */
#define EXIT_VM_FAILURE   243 /* the VM failed: triple fault, KVM internal error (registers dumped) */
#define EXIT_MODVMM_LAST  243

#endif
