#!/bin/bash
# Guest <-> loopback: frames of several sizes go out and come back byte for
# byte, with and without mergeable RX buffers, with and without EVENT_IDX and
# indirect descriptors, and one RX interrupt taken through MSI-X.
# usage: vnet-loopback.sh MODVMM GUEST.elf
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vnet-lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2")
need_kvm

# 1000 frames, 512-byte RX buffers: frames above 500 bytes span several buffers
vnet_ini "$T/vm.ini" "$GUEST" "mode=echo frames=1000 mrg=1 rxbuf=512 msix=1" "plugin = loopback" ""
run_vnet "$T/vm.ini"
expect_in "$T/out" "ok: MSI-X interrupt for receiveq1 (vector 1)"
expect_in "$T/out" "echo: sent 1000 received 1000 intact 1000"
expect_in "$T/out" "frames spanned several mergeable buffers"
expect_in "$T/err" "queue pair 0: tx 1001 packets (0 dropped)"
merged=$(sed -n 's/^echo: .* merged \([0-9]*\).*/\1/p' "$T/out")
[ "${merged:-0}" -gt 300 ] || fail "only ${merged:-0} merged frames"

# no MRG_RXBUF (the device does not offer it): one 2 KiB buffer per frame
vnet_ini "$T/vm.ini" "$GUEST" "mode=echo frames=1000 mrg=1" "plugin = loopback" "mrg_rxbuf = false"
run_vnet "$T/vm.ini"
expect_in "$T/out" "echo: sent 1000 received 1000 intact 1000 merged 0"

# neither EVENT_IDX nor indirect descriptors: flag-based suppression
vnet_ini "$T/vm.ini" "$GUEST" "mode=echo frames=500 event_idx=0 indirect=0 qsize=64" "plugin = loopback" ""
run_vnet "$T/vm.ini"
expect_in "$T/out" "echo: sent 500 received 500 intact 500"
# a worker that busy-polls for 200 us before sleeping: fewer kicks, same frames
vnet_ini "$T/vm.ini" "$GUEST" "mode=echo frames=1000" "plugin = loopback" "poll_us = 200"
run_vnet "$T/vm.ini"
expect_in "$T/out" "echo: sent 1000 received 1000 intact 1000"
echo "ok: frames echoed intact through loopback (mergeable, plain, flag suppression, busy-poll)"
