/* SPDX-License-Identifier: MIT */
/* What to tell a user whose /dev/kvm cannot be opened. */
#ifndef MODVMM_KVM_HELP_H
#define MODVMM_KVM_HELP_H

/* Print why open("/dev/kvm") failed with `err` (an errno) and what to do. */
void kvm_explain_open_error(int err);

#endif
