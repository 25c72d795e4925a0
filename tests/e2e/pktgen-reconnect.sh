#!/bin/bash
# kill -9 of one modvmm-pktgen peer, then a restarted peer resumes traffic:
#  1. the sender dies mid-stream: the receiver sees the link go down, keeps
#     its region, accepts the new sender, and receives its whole session;
#  2. the receiver dies while holding the ring full: the sender sees the link
#     go down, waits, and finishes its session into the new receiver, which
#     sees every packet from the one it joined at, in order.
# usage: pktgen-reconnect.sh modvmm-pktgen
. "$(dirname "$0")/lib.sh"
PKTGEN=$(realpath "$1")
export MODVMM_RUNDIR=$T/run
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT

# 1. kill the sender
"$PKTGEN" -p k1 -m rx -c >"$T/rx" 2>&1 &
rx=$!
"$PKTGEN" -p k1 -m tx -n 0 >"$T/tx1" 2>&1 &
tx1=$!
wait_for "$T/rx" "rx: session"
kill -9 $tx1; wait $tx1 2>/dev/null
wait_for "$T/rx" "rx: link down"
timeout 60 "$PKTGEN" -p k1 -m tx -n 200000 >"$T/tx2" 2>&1 || fail "second sender failed: $(cat "$T/tx2")"
wait $rx || fail "receiver failed: $(cat "$T/rx")"
expect_in "$T/rx" "rx: new session"
expect_in "$T/rx" "first 0 last 199999 packets 200000 fin"
expect_in "$T/rx" "rx: sessions 2 errors 0"
[ "$(grep -c 'rx: link up' "$T/rx")" = 2 ] || fail "expected two link-ups: $(cat "$T/rx")"
echo "sender restarted: $(grep -h 'fin$' "$T/rx")"

# 2. kill the receiver
"$PKTGEN" -p k2 -m tx -n 1000000 >"$T/tx" 2>&1 &
tx=$!
"$PKTGEN" -p k2 -m rx -c --hold-after 5000 >"$T/rx1" 2>&1 &
rx1=$!
wait_for "$T/rx1" "rx: holding after 5000 packets"
kill -9 $rx1; wait $rx1 2>/dev/null
wait_for "$T/tx" "tx: link down"
timeout 60 "$PKTGEN" -p k2 -m rx -c >"$T/rx2" 2>&1 || fail "second receiver failed: $(cat "$T/rx2")"
wait $tx || fail "sender failed: $(cat "$T/tx")"
expect_in "$T/rx2" "last 999999 packets"
expect_in "$T/rx2" "fin"
expect_in "$T/rx2" "rx: sessions 1 errors 0"
[ "$(grep -c 'tx: link up' "$T/tx")" = 2 ] || fail "expected two link-ups: $(cat "$T/tx")"
expect_in "$T/tx" "tx: 1000000 packets in"
echo "receiver restarted: $(grep -h 'fin$' "$T/rx2")"
echo "ok"
