#!/bin/bash
# The stock virtio-net driver against a backend that returns every frame:
# modvmm's `loopback`, QEMU's UDP socket sent to itself.  Link up, ping and
# a checked TCP transfer each way between eth0 and a macvlan on it in another
# namespace (tests/linux/guest/net-loopback.sh); then the receive filter
# through the control queue: promiscuous mode, multicast, a MAC change
# (tests/linux/guest/net-ctrl.sh).
# usage: net-loopback.sh MODVMM TCPX
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/initramfs.sh"
. "$(dirname "$0")/lib.sh"
lt_init "$@"
BYTES=${LT_BYTES:-$((64 << 20))}
modvmm_nic=$LT_LOOP_MODVMM
qemu_nic=$(lt_loop_qemu $((20000 + $$ % 10000)))
lt_both net-loopback 1 "lt.test=net-loopback lt.bytes=$BYTES" "$modvmm_nic" "$qemu_nic"
for vmm in modvmm qemu; do
	echo "$vmm: $(grep -a 'tcpx: sent' "$T/net-loopback.$vmm.log" | tr -d '\r' | tr '\n' ';')"
done
lt_both net-ctrl 1 "lt.test=net-ctrl" "$modvmm_nic" "$qemu_nic"
