#!/bin/bash
# A hostile guest: descriptors outside RAM, lengths that wrap, loops, chains
# longer than the queue, nested indirect tables, writable TX buffers, an avail
# index jumping ahead, a used ring in MMIO space.  modvmm drops or reports
# DEVICE_NEEDS_RESET, stays up, and works again after a reset.
# usage: vnet-hostile.sh MODVMM GUEST.elf
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vnet-lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2")
need_kvm

vnet_ini "$T/vm.ini" "$GUEST" "mode=hostile" "plugin = loopback" ""
run_vnet "$T/vm.ini"
expect_in "$T/out" "ok: avail index jump: DEVICE_NEEDS_RESET"
expect_in "$T/out" "ok: used ring in MMIO space: DEVICE_NEEDS_RESET"
expect_in "$T/out" "ok: traffic flows after the resets"
expect_in "$T/err" "outside guest RAM"
expect_in "$T/err" "avail index jumped"
expect_in "$T/err" "device needs reset"
[ "$(grep -c "outside guest RAM (chain" "$T/err")" = 1 ] || fail "a guest error was reported more than once"
echo "ok: hostile descriptors dropped, modvmm stayed up"
