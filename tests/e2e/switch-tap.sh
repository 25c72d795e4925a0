#!/bin/bash
# The switch's host port: modvmm-switch --tap runs inside a network namespace
# this test creates; a virtio-net test guest whose pipe backend joins the
# switch answers the namespace's ping (ARP flooded, the answer learned back)
# and sends a UDP datagram that arrives byte for byte.  The switch leaves when
# the VM (its last pipe port) does.
# usage: switch-tap.sh MODVMM GUEST.elf modvmm-switch
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vnet-lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2") SWITCH=$(realpath "$3")
need_kvm
need_root
for tool in ip ping "$PYTHON"; do
	command -v $tool >/dev/null || { echo "SKIP: $tool is not installed" >&2; exit 77; }
done
[ -c /dev/net/tun ] || { echo "SKIP: no /dev/net/tun" >&2; exit 77; }
export MODVMM_RUNDIR=$T/run
NS=mvsw$$ TAP=mvswtap$$
HOST_IP=10.98.0.1 GUEST_IP=10.98.0.2 PORT=5556 UDPLEN=1000
ip netns add $NS || fail "ip netns add"
trap 'kill -9 $(jobs -p) 2>/dev/null; ip netns del $NS 2>/dev/null; rm -rf "$T"' EXIT
nsx() { ip netns exec $NS "$@"; }
nsx ip link set lo up
nsx ip tuntap add dev $TAP mode tap || fail "ip tuntap add"
nsx ip addr add $HOST_IP/24 dev $TAP
nsx ip link set $TAP up

nsx "$SWITCH" -v --tap $TAP sw0 >"$T/sw.log" 2>&1 &
sw=$!
wait_for "$T/sw.log" "host port: tap $TAP"
wait_for "$T/sw.log" "running"

udp_receiver &
rpid=$!
wait_for "$T/udp" ready

vnet_ini "$T/vm.ini" "$GUEST" \
	"mode=host ip=$GUEST_IP peer=$HOST_IP port=$PORT pings=3 udplen=$UDPLEN pairs=1" \
	"plugin = pipe
name = vm1
switch = sw0" ""
timeout 120 "$MODVMM" -v run "$T/vm.ini" >"$T/out" 2>"$T/err" &
vm=$!
wait_for "$T/out" "host: ip"
wait_for "$T/sw.log" "port sw0.vm1 joined"
nsx ping -c 3 -i 0.2 -W 5 $GUEST_IP >"$T/ping" 2>&1 ||
	{ cat "$T/ping" "$T/out" "$T/err" "$T/sw.log" >&2; fail "ping"; }
expect_in "$T/ping" "3 received"
vm_ok vm $vm
wait $rpid || true
expect_in "$T/out" "ok: answered ARP"
expect_in "$T/udp" "udp $UDPLEN bytes from $GUEST_IP intact"
expect_in "$T/sw.log" "on sw0.vm1"
expect_in "$T/sw.log" "on $TAP"
exits_within $sw 30 || fail "the switch stayed after its last pipe port: $(cat "$T/sw.log")"
wait $sw || fail "switch status $?"
echo "ok: ping and UDP between a namespace's tap and a guest through the switch"
