#!/bin/bash
# Debian's generic kernel with the test kit's initramfs, under modvmm and
# under QEMU -enable-kvm alike: the bzImage boots to userspace with 1 and with
# 4 vCPUs, all online, the ACPI tables taken without complaint, and
# `poweroff` ends the VMM with status 0; the uncompressed vmlinux boots the
# same through PVH (2 vCPUs); `reboot` ends the VMM with status 0 (modvmm
# treats a reset as a power-off; QEMU runs with -no-reboot); a line typed on
# the serial console reaches the guest's shell.
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

LT_KERNEL=$LG_VMLINUX
lt_both pvh-2 2 "lt.test=boot lt.cpus=2" "" ""
expect_in "$T/pvh-2.modvmm.err" "kernel $LG_VMLINUX: entry"   # an ELF: modvmm boots it through PVH
LT_KERNEL=

lt_both reboot 1 "lt.test=boot lt.end=reboot" "" ""
for vmm in modvmm qemu; do
	grep -q "reboot: Restarting system" "$T/reboot.$vmm.log" || { lt_show $vmm reboot; fail "no reboot under $vmm"; }
done

word=typed$$
for vmm in modvmm qemu; do
	rm -f "$T/in" && mkfifo "$T/in"
	LT_INPUT=$T/in
	lt_start $vmm console 1 "lt.test=console lt.word=$word"
	exec {w}>"$T/in"
	lt_wait_for $vmm console "LINUXTEST: READY console" || { exec {w}>&-; lt_finish $vmm console; fail "console under $vmm: no READY"; }
	echo "$word" >&$w
	lt_finish $vmm console
	exec {w}>&-
	LT_INPUT=
done
