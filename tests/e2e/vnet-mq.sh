#!/bin/bash
# Multiqueue: four queue pairs (VQ_PAIRS_SET 4 through the control queue), 500
# frames on each, each one back on its own pair; the device's statistics show
# traffic on every pair.
# usage: vnet-mq.sh MODVMM GUEST.elf
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vnet-lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2")
need_kvm

vnet_ini "$T/vm.ini" "$GUEST" "mode=mq pairs=4 frames=500" "plugin = loopback" "queues = 4"
run_vnet "$T/vm.ini"
for p in 0 1 2 3; do
	expect_in "$T/out" "ok: pair $p: 500 frames out, 500 back intact"
	expect_in "$T/err" "queue pair $p: tx 500 packets (0 dropped)"
	expect_in "$T/err" "rx 500 packets (0 dropped, 0 filtered)"
done
# the guest may not use more pairs than the device has
vnet_ini "$T/vm.ini" "$GUEST" "mode=mq pairs=4 frames=10" "plugin = loopback" "queues = 2"
status=0
timeout 120 "$MODVMM" run "$T/vm.ini" >"$T/out" 2>"$T/err" || status=$?
[ "$status" = 1 ] || fail "4 pairs on a 2-pair device: exit status $status"
expect_in "$T/out" "4 queue pairs wanted, the device has 2"
echo "ok: traffic on four queue pairs"
