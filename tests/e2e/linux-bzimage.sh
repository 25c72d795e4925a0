#!/bin/bash
# Debian's cloud kernel booted as a bzImage through the Linux 64-bit boot
# protocol: its decompressor reads boot_params and our command line and prints
# "KASLR disabled: 'nokaslr' on cmdline." on COM1 (it prints nothing before).
# Guest ring 0 is emulated on the nested KVM of our machines, so the kernel does
# not get much further in a useful time: the test stops the VM with SIGTERM.
# usage: linux-bzimage.sh MODVMM CACHE_DIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/debian-kernel.sh"
MODVMM=$(realpath "$1")
need_kvm
debian_kernel "$2"

cat >"$T/vm.ini" <<INI
[vm]
memory = 256M
kernel = $VMLINUZ
cmdline = console=ttyS0 earlyprintk=serial,ttyS0,115200 nokaslr
[device com1]
plugin = serial
input = none
INI
start_vm "$T/vm.ini"
wait_for 30 "KASLR disabled: 'nokaslr' on cmdline." || {
	kill -9 $pid
	fail "no KASLR line from the decompressor within 30 s; serial: $(cat "$T/out"); stderr: $(tail "$T/err")"
}
stop_vm
expect_in "$T/err" "kernel $VMLINUZ: entry 0x1000200"   # pref_address + 0x200
echo "ok: $(basename "$(dirname "$VMLINUZ")") bzImage: the decompressor read our cmdline after ${SECONDS}s"
