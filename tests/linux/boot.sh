#!/bin/bash
# Debian's generic kernel (bzImage) with the test kit's initramfs boots to
# userspace with 1 and with 4 vCPUs, all of them online, the ACPI tables taken
# without complaint, and `poweroff` ends the VMM with status 0; under modvmm
# and under QEMU -enable-kvm alike.
# usage: boot.sh MODVMM TCPX
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/initramfs.sh"
. "$(dirname "$0")/lib.sh"
MODVMM=$(realpath "$1")
need_kvm
lt_setup
for cpus in 1 4; do
	lt_both boot-$cpus $cpus "lt.test=boot lt.cpus=$cpus" "" ""
done
