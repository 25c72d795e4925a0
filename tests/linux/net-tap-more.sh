#!/bin/bash
# The stock virtio-net driver on a tap in a namespace of this test, beyond the
# basics (net-tap.sh): MTU 9000 (the device advises it; 9000-byte pings
# unfragmented, a checked TCP transfer), then 4 queue pairs on a multi-queue
# tap with 4 vCPUs (`ethtool -L eth0 combined 4`, a transfer from each CPU,
# traffic on every queue); under modvmm and under QEMU alike.
# usage: net-tap-more.sh MODVMM TCPX
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/initramfs.sh"
. "$(dirname "$0")/lib.sh"
lt_init "$@"
need_tap
BYTES=${LT_BYTES:-$((4 << 20))}
NS=ltmore$$ HOST=10.97.0.1 GUEST=10.97.0.2
ip netns add $NS || fail "ip netns add"
trap 'ip netns del $NS 2>/dev/null; [ -n "${KEEP_T:-}" ] || rm -rf "$T"' EXIT
nsx() { ip netns exec $NS "$@"; }
nsx ip link set lo up
LT_PREFIX="ip netns exec $NS"

# host_recv PORT...: a tcpx receiver on each PORT in the namespace, listening
# when this returns; their pids in $rpids, output in $T/hrecv.PORT.
host_recv() {
	rpids=
	for port in "$@"; do
		rm -f "$T/rdy" && mkfifo "$T/rdy"
		nsx timeout 600 "$TCPX" recv "$port" 3>"$T/rdy" >"$T/hrecv.$port" 2>&1 &
		rpids="$rpids $!"
		read -r line <"$T/rdy"
		[ "$line" = listening ] || fail "the host's tcpx recv $port did not start: $(cat "$T/hrecv.$port")"
	done
}

# round NAME VCPUS TAP-FLAGS MODVMM-DEVICE-LINES QEMU-NETDEV-OPTS QEMU-DEVICE-OPTS PORT...
round() {
	local name=$1 cpus=$2 flags=$3 dev=$4 qnet=$5 qdev=$6 tap=lt$1
	shift 6
	nsx ip tuntap add dev $tap mode tap vnet_hdr $flags || fail "ip tuntap add $flags"
	nsx ip addr add $HOST/24 dev $tap
	[ "$name" = mtu ] && nsx ip link set $tap mtu 9000
	nsx ip link set $tap up
	for vmm in modvmm qemu; do
		host_recv "$@"
		if [ $vmm = modvmm ]; then
			lt_start modvmm $name $cpus "lt.test=net-$name lt.bytes=$BYTES lt.host=$HOST lt.guest=$GUEST" \
				"$(lt_vnet "plugin = tap
ifname = $tap" "$dev")"
		else
			lt_start qemu $name $cpus "lt.test=net-$name lt.bytes=$BYTES lt.host=$HOST lt.guest=$GUEST" \
				"-netdev tap,id=n0,ifname=$tap,script=no,downscript=no,vhost=off$qnet -device virtio-net-pci,netdev=n0$qdev"
		fi
		lt_finish $vmm $name
		for pid in $rpids; do
			wait "$pid" || fail "$name under $vmm: a host receiver failed: $(cat "$T"/hrecv.*)"
		done
		echo "$vmm: $(cat "$T"/hrecv.* | tr '\n' ' ')"
	done
	nsx ip link del $tap
}

round mtu 1 "" "mtu = 9000" "" ",host_mtu=9000" 5001
round mq 4 multi_queue "queues = 4" ",queues=4" ",mq=on,vectors=10" 5001 5002 5003 5004
