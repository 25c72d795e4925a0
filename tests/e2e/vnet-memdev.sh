#!/bin/bash
# virtio-net over the pipe backend (packet I/O) talking to a ptnetmap-memdev
# guest on the other end of the pipe, in another modvmm process:
#  1. the memdev guest echoes every frame by swapping RX and TX buffers; the
#     virtio-net guest sends frames of six sizes and gets each back intact;
#  2. kill -9 of the echoing VM: virtio-net sees the link go down (its guest
#     polls the status field), a restarted echo VM joins, the link comes back
#     and new frames come back again (vnet-test mode=flap); the guest counts
#     the configuration interrupts (ISR CONFIG bit): at least down and up.
# usage: vnet-memdev.sh MODVMM GUEST-memdev.elf GUEST-vnet-test.elf
. "$(dirname "$0")/lib.sh"
MODVMM=$(realpath "$1") MEMDEV=$(realpath "$2") VNET=$(realpath "$3")
need_kvm
export MODVMM_RUNDIR=$T/run
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT

# echo_vm NAME PIPE COUNT: a memdev guest echoing COUNT packets, in the
# background (pid in $pid).
echo_vm() {
	pipe_vm_ini "$T/$1.ini" "$MEMDEV" "mode=echo count=$3 timeout=60" "$2" ptnetmap-memdev
	"$MODVMM" -v run "$T/$1.ini" >"$T/$1.out" 2>"$T/$1.err" &
	pid=$!
}

# vnet_vm NAME PIPE CMDLINE: the virtio-net guest on the other end (pid in $vpid).
vnet_vm() {
	pipe_vm_ini "$T/$1.ini" "$VNET" "$3" "$2" virtio-net
	timeout 120 "$MODVMM" -v run "$T/$1.ini" >"$T/$1.out" 2>"$T/$1.err" &
	vpid=$!
}

# 1. echo
echo_vm echo1 ve 1000; e=$pid
wait_for "$T/echo1.out" "memdev: echo ready"
vnet_vm vn1 ve "mode=echo frames=1000 mrg=1 rxbuf=512"
vm_ok vn1 $vpid
vm_ok echo1 $e
expect_in "$T/vn1.out" "ok: 1000 frames of 6 sizes came back intact"
expect_in "$T/echo1.out" "memdev echo ok: 1000 packets, bad 0"
expect_in "$T/vn1.err" "backend pipe"
echo "virtio-net <-> memdev: $(grep -h 'memdev echo ok' "$T/echo1.out")"

# 2. kill -9 the echoing VM, restart it
echo_vm echo2 vf 1000000000; e=$pid
wait_for "$T/echo2.out" "memdev: echo ready"
vnet_vm vn2 vf "mode=flap frames=200"
wait_for "$T/vn2.out" "flap: phase 1 done"
kill9 $e
echo_vm echo3 vf 1000000000; e=$pid
vm_ok vn2 $vpid
kill9 $e
expect_in "$T/vn2.out" "ok: the link went down and came back"
cfg=$(sed -n 's/.*link: \([0-9]*\) configuration interrupts.*/\1/p' "$T/vn2.out")
[ "${cfg:-0}" -ge 2 ] || fail "expected configuration interrupts for link down and up, got ${cfg:-none}"
expect_in "$T/vn2.out" "vnet-test: 0 failure(s)"
[ "$(grep -c 'link up' "$T/vn2.err")" = 2 ] || fail "expected two link-ups: $(cat "$T/vn2.err")"
echo "echo VM restarted: $(grep -h 'flap: phase 3' "$T/vn2.out"); $cfg configuration interrupts"
echo "ok"
