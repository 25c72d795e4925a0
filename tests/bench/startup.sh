#!/bin/bash
# Start-up benchmark: time from exec of `modvmm run` to the guest's first serial
# byte, and modvmm's RSS beyond guest RAM (guest RAM is shared memory), medians of
# RUNS runs.  QEMU boots the same PVH guest in the same run for comparison.
# Targets (printed beside the figures): < 10 ms to first guest output, < 4 MiB RSS.
# usage: startup.sh MODVMM startup-probe spin.elf [RUNS]
. "$(dirname "$0")/../e2e/lib.sh"
MODVMM=$(realpath "$1") PROBE=$(realpath "$2") GUEST=$(realpath "$3") RUNS=${4:-11}
need_kvm
basic_ini "$T/vm.ini" "$GUEST"
m=$("$PROBE" "$RUNS" -- "$MODVMM" run "$T/vm.ini") || fail "probe failed on modvmm"
ms=${m#first_byte_ms=}; ms=${ms%% *}
kib=${m##*rss_beyond_shmem_kib=}
echo "modvmm startup: first serial byte after ${ms} ms (median of $RUNS; target < 10 ms)"
echo "modvmm RSS beyond guest RAM: ${kib} KiB (median of $RUNS; target < 4096 KiB)"
if command -v qemu-system-x86_64 >/dev/null; then
	q=$("$PROBE" "$RUNS" -- qemu-system-x86_64 -accel kvm -cpu host -m 64 -display none -serial stdio \
		-no-reboot -kernel "$GUEST" -device isa-debug-exit,iobase=0x501,iosize=1 2>/dev/null) || fail "probe failed on qemu"
	qms=${q#first_byte_ms=}; qms=${qms%% *}
	qkib=${q##*rss_beyond_shmem_kib=}
	echo "qemu startup (same guest): first serial byte after ${qms} ms, RSS ${qkib} KiB (its guest RAM is anonymous memory, so this includes the RAM the guest touched)"
	awk -v a="$ms" -v b="$qms" 'BEGIN { printf "ratio modvmm/qemu startup: %.3f\n", a / b }'
fi
