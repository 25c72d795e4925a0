#!/bin/bash
# Linux boot benchmark: time from exec to the kernel's first serial byte for
# Debian's cloud kernel, median of RUNS runs, as a bzImage (the decompressor's
# first line) and uncompressed through PVH (the kernel's banner).  QEMU boots the
# same files in the same run as the reference (SeaBIOS prints nothing on COM1).
# On nested KVM guest ring 0 is emulated, so the figures measure the emulator
# more than modvmm; Firecracker quotes < 8 CPU-ms of VMM start and 125 ms to
# init on real hardware.
# usage: linux-boot.sh MODVMM startup-probe CACHE_DIR [RUNS]
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/../e2e/debian-kernel.sh"
MODVMM=$(realpath "$1") PROBE=$(realpath "$2") RUNS=${4:-5}
need_kvm
debian_kernel "$3"
cmdline="console=ttyS0 earlyprintk=serial,ttyS0,115200 nokaslr"

# ms FIGURE_LINE: the first_byte_ms value of a startup-probe line.
ms() {
	local m=${1#first_byte_ms=}
	echo "${m%% *}"
}

for kind in bzImage PVH; do
	kernel=$VMLINUZ mem=256
	[ $kind = PVH ] && kernel=$VMLINUX mem=512
	cat >"$T/vm.ini" <<INI
[vm]
memory = ${mem}M
kernel = $kernel
cmdline = $cmdline
[device com1]
plugin = serial
input = none
INI
	# the VMs' "terminating on signal" lines go to $T/probe.err, shown on failure
	m=$("$PROBE" "$RUNS" -- "$MODVMM" run "$T/vm.ini" 2>"$T/probe.err") ||
		fail "probe failed on modvmm ($kind): $(cat "$T/probe.err")"
	echo "modvmm $kind: first kernel serial byte after $(ms "$m") ms (median of $RUNS)"
	if command -v qemu-system-x86_64 >/dev/null; then
		q=$("$PROBE" "$RUNS" -- qemu-system-x86_64 -accel kvm -cpu host -m $mem -display none \
			-serial stdio -no-reboot -kernel "$kernel" -append "$cmdline" 2>"$T/probe.err") ||
			fail "probe failed on qemu ($kind): $(cat "$T/probe.err")"
		echo "qemu $kind (same kernel): first kernel serial byte after $(ms "$q") ms (median of $RUNS)"
		awk -v a="$(ms "$m")" -v b="$(ms "$q")" -v k=$kind \
			'BEGIN { printf "ratio modvmm/qemu, %s: %.3f\n", k, a / b }'
	fi
done
