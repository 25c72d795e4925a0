#!/bin/bash
# The stock virtio-net driver on a tap whose host side lives in a network
# namespace this test creates: link up, ping both ways and a checked TCP
# transfer each way (tcpx) with the offloads Linux turns on by default, under
# modvmm (backend `tap`) and under QEMU (-netdev tap) on the same tap.
# usage: net-tap.sh MODVMM TCPX
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/initramfs.sh"
. "$(dirname "$0")/lib.sh"
lt_init "$@"
need_tap
BYTES=${LT_BYTES:-$((64 << 20))}
NS=ltnet$$ TAP=lttap0 HOST=10.98.0.1 GUEST=10.98.0.2
ip netns add $NS || fail "ip netns add"
trap 'ip netns del $NS 2>/dev/null; [ -n "${KEEP_T:-}" ] || rm -rf "$T"' EXIT
nsx() { ip netns exec $NS "$@"; }
nsx ip link set lo up
nsx ip tuntap add dev $TAP mode tap vnet_hdr || fail "ip tuntap add"
nsx ip addr add $HOST/24 dev $TAP
nsx ip link set $TAP up
LT_PREFIX="ip netns exec $NS"

for vmm in modvmm qemu; do
	lt_host_listen $vmm
	if [ $vmm = modvmm ]; then
		lt_start modvmm net-tap 1 "lt.test=net-tap lt.bytes=$BYTES lt.host=$HOST lt.guest=$GUEST" "$(lt_vnet "plugin = tap
ifname = $TAP")"
	else
		lt_start qemu net-tap 1 "lt.test=net-tap lt.bytes=$BYTES lt.host=$HOST lt.guest=$GUEST" \
			"-netdev tap,id=n0,ifname=$TAP,script=no,downscript=no,vhost=off -device virtio-net-pci,netdev=n0"
	fi
	lt_host_traffic $vmm net-tap
	echo "$vmm: guest -> host $(cat "$T/hrecv.$vmm"); host -> guest $(cat "$T/hsend.$vmm")"
done
