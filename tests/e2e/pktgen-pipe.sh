#!/bin/bash
# modvmm-pktgen tx -> modvmm-pktgen rx across a pipe (two processes meeting on
# a unix socket): N packets with sequence numbers, none lost or reordered.
# Either end may start first; small rings (both sides sleep and kick), several
# ring pairs, large packets.  No KVM needed.
# usage: pktgen-pipe.sh modvmm-pktgen
. "$(dirname "$0")/lib.sh"
PKTGEN=$(realpath "$1")
export MODVMM_RUNDIR=$T/run
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT

# transfer NAME N FIRST [options...]: FIRST (rx|tx) starts first, in the background
transfer() {
	local name=$1 n=$2 first=$3 pid
	shift 3
	if [ "$first" = rx ]; then
		"$PKTGEN" -p "$name" -m rx -c "$@" >"$T/$name.rx" 2>&1 &
		pid=$!
		timeout 120 "$PKTGEN" -p "$name" -m tx -n "$n" "$@" >"$T/$name.tx" 2>&1 ||
			fail "$name: tx failed: $(cat "$T/$name.tx")"
		wait $pid || fail "$name: rx failed: $(cat "$T/$name.rx")"
	else
		"$PKTGEN" -p "$name" -m tx -n "$n" "$@" >"$T/$name.tx" 2>&1 &
		pid=$!
		timeout 120 "$PKTGEN" -p "$name" -m rx -c "$@" >"$T/$name.rx" 2>&1 ||
			fail "$name: rx failed: $(cat "$T/$name.rx")"
		wait $pid || fail "$name: tx failed: $(cat "$T/$name.tx")"
	fi
	expect_in "$T/$name.rx" "first 0 last $((n - 1)) packets $n fin"
	expect_in "$T/$name.rx" "rx: sessions 1 errors 0"
	expect_in "$T/$name.tx" "tx: $n packets in"
	expect_in "$T/$name.tx" "dropped 0, refused 0"
	echo "$name: $(grep -h Mpps "$T/$name.tx")"
}

transfer basic 2000000 rx
transfer txfirst 300000 tx
transfer smallring 500000 rx -S 64 -b 16
transfer rings 200000 tx -r 3 --ring 2
transfer jumbo 100000 rx -s 1514 -B 2048
expect_in "$T/rings.rx" "3 ring(s) of 1024 slots"

# a third end is refused while both are connected
"$PKTGEN" -p busy -m rx --hold-after 1 >"$T/busy.rx" 2>&1 &
"$PKTGEN" -p busy -m tx -n 0 >"$T/busy.tx" 2>&1 &
wait_for "$T/busy.rx" "holding after 1 packets"
st=0
timeout 30 "$PKTGEN" -p busy -m rx -n 1 >"$T/busy.third" 2>&1 || st=$?
[ "$st" = 1 ] || fail "third end: status $st, expected 1: $(cat "$T/busy.third")"
expect_in "$T/busy.third" "both ends are already connected"

# ping-pong: every echo comes back (buffer swap in the echoing end)
"$PKTGEN" -p pp -m pong >"$T/pp.pong" 2>&1 &
pid=$!
timeout 60 "$PKTGEN" -p pp -m ping -n 20000 >"$T/pp.ping" 2>&1 || fail "ping failed: $(cat "$T/pp.ping")"
wait $pid || fail "pong failed: $(cat "$T/pp.pong")"
expect_in "$T/pp.ping" "ping: 20000 packets"
expect_in "$T/pp.pong" "pong: 20000 packets"
grep -h "rtt" "$T/pp.ping"
echo "ok"
