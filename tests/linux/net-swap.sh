#!/bin/bash
# The stock virtio-net driver keeps its network while modvmm moves it from tap A
# to tap B (`modvmm swap`), both taps in one bridge of a namespace this test
# creates: the guest pings the host through A, sees its carrier go down and up,
# pings again through B; the host pings the guest after the swap; B's counters
# show the frames.  Under modvmm only: QEMU can only unplug the whole NIC.
# usage: net-swap.sh MODVMM TCPX
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/initramfs.sh"
. "$(dirname "$0")/lib.sh"
lt_init "$@"
need_tap
export MODVMM_RUNDIR=$T/run
NS=ltswap$$ HOST=10.98.2.1 GUEST=10.98.2.2
ip netns add $NS || fail "ip netns add"
trap 'ip netns del $NS 2>/dev/null; [ -n "${KEEP_T:-}" ] || rm -rf "$T"' EXIT
nsx() { ip netns exec $NS "$@"; }
nsx ip link set lo up
nsx ip link add br0 type bridge || fail "ip link add br0"
nsx ip addr add $HOST/24 dev br0
nsx ip link set br0 up
for tap in lttapA lttapB; do
	nsx ip tuntap add dev $tap mode tap vnet_hdr || fail "ip tuntap add $tap"
	nsx ip link set $tap master br0 || fail "$tap into br0"
	nsx ip link set $tap up
done
LT_PREFIX="ip netns exec $NS"

mkfifo "$T/in"
LT_INPUT=$T/in
lt_start modvmm net-swap 1 "lt.test=net-swap lt.host=$HOST lt.guest=$GUEST" "$(lt_vnet "plugin = tap
ifname = lttapA")"
exec {w}>"$T/in"
lt_wait_line modvmm net-swap "LINUXTEST: READY swap"
counter() { "$MODVMM" stats --json lt-net-swap nic0 | grep -o "\"$1\":[0-9]*" | cut -d: -f2; }
a=$(counter backend.tx_packets)
"$MODVMM" swap lt-net-swap nic0 --backend tap ifname=lttapB >"$T/swap" 2>&1 || { lt_show modvmm net-swap; fail "swap: $(cat "$T/swap")"; }
expect_in "$T/swap" "nic0: backend tap replaced tap; the driver saw the link go down"
lt_wait_line modvmm net-swap "LINUXTEST: READY host-ping"
nsx ping -c 3 -W 10 $GUEST >"$T/ping" 2>&1 || { cat "$T/ping" >&2; lt_show modvmm net-swap; fail "host -> guest ping after the swap"; }
b=$(counter backend.tx_packets)
echo "ok" >&$w
lt_finish modvmm net-swap
exec {w}>&-
[ "${b:-0}" -ge 6 ] || fail "tap B carried ${b:-no} frames from the guest (tap A: $a)"
echo "ok: pings through tap A ($a frames), the carrier went down and up, pings through tap B ($b frames)"
