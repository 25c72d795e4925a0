#!/bin/bash
# Guest <-> tap inside a network namespace this test creates.  The host
# kernel's own ping gets ARP and ICMP echo answers from the guest, and the
# guest sends a UDP datagram that a host socket receives byte for byte; then
# the same with two queue pairs on a multi_queue tap.  Also the messages when
# CAP_NET_ADMIN or /dev/net/tun is missing.
# usage: vnet-tap.sh MODVMM GUEST.elf
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vnet-lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2")
need_kvm
need_root
for tool in ip ping "$PYTHON" setpriv unshare; do
	command -v $tool >/dev/null || { echo "SKIP: $tool is not installed" >&2; exit 77; }
done
[ -c /dev/net/tun ] || { echo "SKIP: no /dev/net/tun" >&2; exit 77; }

NS=mvnet$$
HOST_IP=10.99.0.1 GUEST_IP=10.99.0.2 PORT=5555 UDPLEN=1000
ip netns add $NS || fail "ip netns add"
trap 'ip netns del $NS 2>/dev/null; rm -rf "$T"' EXIT
nsx() { ip netns exec $NS "$@"; }
nsx ip link set lo up

# one round: an existing tap (flags $1), modvmm attaches with `queues = $2`
round() {
	local tap=mvtap$$ flags=$1 queues=$2 pairs=$2
	nsx ip tuntap add dev $tap mode tap $flags || fail "ip tuntap add $flags"
	nsx ip addr add $HOST_IP/24 dev $tap
	nsx ip link set $tap up
	vnet_ini "$T/vm.ini" "$GUEST" \
		"mode=host ip=$GUEST_IP peer=$HOST_IP port=$PORT pings=3 udplen=$UDPLEN pairs=$pairs" \
		"plugin = tap
ifname = $tap" "queues = $queues"
	: >"$T/udp"
	udp_receiver &
	local rpid=$!
	wait_for "$T/udp" ready
	: >"$T/out"
	nsx timeout "$(scaled 120)" "$MODVMM" -v run "$T/vm.ini" >"$T/out" 2>"$T/err" &
	local vpid=$!
	wait_for "$T/out" "host: ip"
	nsx ping -c 3 -i 0.2 -W 5 $GUEST_IP >"$T/ping" 2>&1 || { cat "$T/ping" "$T/out" "$T/err" >&2; fail "ping"; }
	expect_in "$T/ping" "3 received"
	local st=0
	wait $vpid || st=$?
	wait $rpid || true
	[ "$st" = 0 ] || { cat "$T/out" "$T/err" >&2; fail "guest exit status $st"; }
	expect_in "$T/out" "ok: answered ARP"
	expect_in "$T/udp" "udp $UDPLEN bytes from $GUEST_IP intact"
	nsx ip link del $tap
	echo "ok: ping and UDP through tap ($queues queue pair(s))"
}

round "" 1
round "multi_queue" 2
expect_in "$T/err" "tap mvtap$$: 2 queues"

# the clear errors: no CAP_NET_ADMIN, no /dev/net/tun
vnet_ini "$T/vm.ini" "$GUEST" "mode=echo" "plugin = tap
ifname = mvtap$$" ""
st=0
setpriv --inh-caps=-net_admin --bounding-set=-net_admin "$MODVMM" run "$T/vm.ini" >"$T/out" 2>"$T/err" || st=$?
[ "$st" = 242 ] || fail "without CAP_NET_ADMIN: exit status $st, expected 242"
expect_in "$T/err" "needs CAP_NET_ADMIN"
expect_in "$T/err" "ip tuntap add dev mvtap$$ mode tap"
st=0
unshare -m sh -c 'mount -t tmpfs none /dev/net && exec "$@"' sh "$MODVMM" run "$T/vm.ini" >"$T/out" 2>"$T/err" || st=$?
[ "$st" = 242 ] || fail "without /dev/net/tun: exit status $st, expected 242"
expect_in "$T/err" "the TUN/TAP driver is missing"
echo "ok: tap errors name what is missing"
