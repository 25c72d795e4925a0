#!/bin/bash
# Stock Linux guest benchmark, modvmm beside QEMU -enable-kvm in the same run
# (the tests/linux kit: Debian's kernel, the same initramfs):
#  - boot: wall time from starting the VMM to the guest's first userspace line
#    (its init's first "LINUXTEST:" line on the serial console), 1 vCPU;
#  - TCP over tap: tests/linux/net-tap.sh's checked transfers of BYTES each way
#    between the guest and the host's stack in a namespace (tcpx's Mbit/s).
# Medians of RUNS, and the ratio modvmm / QEMU. No target under emulation.
# usage: linux-guest.sh MODVMM TCPX [RUNS]
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/../linux/initramfs.sh"
. "$(dirname "$0")/../linux/lib.sh"
. "$(dirname "$0")/bench-lib.sh"
MODVMM=$(realpath "$1") TCPX=$(realpath "$2") RUNS=${3:-3}
need_kvm
need_root
lt_setup

for ((r = 0; r < RUNS; r++)); do
	for vmm in modvmm qemu; do
		t0=$(date +%s%N)
		lt_start $vmm boot 1 "lt.test=boot lt.cpus=1"
		lt_wait_for $vmm boot "LINUXTEST:" || { lt_finish $vmm boot; fail "boot under $vmm: no userspace line"; }
		echo $((($(date +%s%N) - t0) / 1000000)) >>"$T/boot.$vmm"
		lt_finish $vmm boot >/dev/null
	done
done
for vmm in modvmm qemu; do
	echo "$vmm: boot to the first userspace line: $(median <"$T/boot.$vmm") ms (median of $RUNS)"
done
echo "ratio modvmm/qemu boot time: $(ratio "$(median <"$T/boot.modvmm")" "$(median <"$T/boot.qemu")")"

BYTES=${LT_BYTES:-$((64 << 20))}
for ((r = 0; r < RUNS; r++)); do
	LT_BYTES=$BYTES bash "$(dirname "$0")/../linux/net-tap.sh" "$MODVMM" "$TCPX" >"$T/tap.$r" 2>&1 ||
		fail "net-tap run $r: $(tail -n 30 "$T/tap.$r")"
	for vmm in modvmm qemu; do
		line=$(grep "^$vmm: guest -> host" "$T/tap.$r") || fail "no figures for $vmm: $(cat "$T/tap.$r")"
		# "VMM: guest -> host tcpx: ... (X Mbit/s) ...; host -> guest tcpx: ... (Y Mbit/s) ..."
		echo "$line" | sed -n 's/.*(\([0-9.]*\) Mbit\/s).*;.*/\1/p' >>"$T/g2h.$vmm"
		echo "$line" | sed -n 's/.*; .*(\([0-9.]*\) Mbit\/s).*/\1/p' >>"$T/h2g.$vmm"
	done
done
for dir in g2h h2g; do
	name="guest -> host"
	[ $dir = h2g ] && name="host -> guest"
	[ -s "$T/$dir.modvmm" ] && [ -s "$T/$dir.qemu" ] || fail "could not read the $name figures: $(cat "$T/tap.0")"
	m=$(median <"$T/$dir.modvmm") q=$(median <"$T/$dir.qemu")
	echo "TCP $name over tap, $((BYTES >> 20)) MiB: modvmm $m Mbit/s, qemu $q Mbit/s (medians of $RUNS)"
	echo "ratio modvmm/qemu TCP $name: $(ratio "$m" "$q")"
done
