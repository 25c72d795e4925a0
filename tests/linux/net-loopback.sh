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
MODVMM=$(realpath "$1") TCPX=$(realpath "$2")
need_kvm
lt_setup "$TCPX"
BYTES=${LT_BYTES:-$((64 << 20))}
port=$((20000 + $$ % 10000))
modvmm_nic="[backend n0]
plugin = loopback
[device nic0]
plugin = virtio-net
backend = n0"
qemu_nic="-netdev socket,id=n0,udp=127.0.0.1:$port,localaddr=127.0.0.1:$port -device virtio-net-pci,netdev=n0"
lt_both net-loopback 1 "lt.test=net-loopback lt.bytes=$BYTES" "$modvmm_nic" "$qemu_nic"
for vmm in modvmm qemu; do
	echo "$vmm: $(grep -a 'tcpx: sent' "$T/net-loopback.$vmm.log" | tr -d '\r' | tr '\n' ';')"
done
lt_both net-ctrl 1 "lt.test=net-ctrl" "$modvmm_nic" "$qemu_nic"
