#!/bin/bash
# One INI line swaps the network: the same VM file with `plugin = loopback` gets
# every frame back, with `plugin = sink` none (and the sink's generator can feed
# the guest).  Nothing is rebuilt in between.
# usage: vnet-swap.sh MODVMM GUEST.elf
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vnet-lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2")
need_kvm

vnet_ini "$T/vm.ini" "$GUEST" "mode=echo frames=300 expect=any" "plugin = loopback" ""
run_vnet "$T/vm.ini"
expect_in "$T/out" "echo: sent 300 received 300 intact 300"
sum=$(md5sum <"$GUEST")

sed -i 's/^plugin = loopback$/plugin = sink/' "$T/vm.ini"
grep -q '^plugin = sink$' "$T/vm.ini" || fail "the INI edit did not apply"
run_vnet "$T/vm.ini"
expect_in "$T/out" "echo: sent 300 received 0 intact 0"
expect_in "$T/err" "queue pair 0: tx 300 packets (0 dropped)"
[ "$(md5sum <"$GUEST")" = "$sum" ] || fail "the guest changed"

# the sink's generator: 100000 frames/s of 100 bytes, received in sequence
vnet_ini "$T/vm.ini" "$GUEST" "mode=rxgen ms=300" "plugin = sink
rx_rate = 100000
rx_size = 100" ""
run_vnet "$T/vm.ini"
expect_in "$T/out" "generated frames received, none malformed"
expect_in "$T/out" " 0 bad"
echo "ok: loopback -> sink by editing one INI line"
