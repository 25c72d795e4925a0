#!/bin/bash
# modvmm-switch with modvmm-pktgen ports (host processes, no KVM): unicast
# reaches only its destination, broadcast every port but the sender, nothing
# lost (the switch holds frames for a full port), introspection, a port
# killed with -9 and restarted while another pair keeps exchanging, a pipe of
# two ring pairs refused, the switch killed with -9 and restarted with every
# port back, and the switch leaving with its last port.
# usage: switch-pktgen.sh modvmm-pktgen modvmm-switch
. "$(dirname "$0")/lib.sh"
PKTGEN=$(realpath "$1")
SWITCH=$(realpath "$2")
export MODVMM_RUNDIR=$T/run
trap 'kill -9 $(jobs -p) 2>/dev/null; [ -n "${KEEP_T:-}" ] || rm -rf "$T"' EXIT

mac() { printf '02:00:00:00:00:%s' "$1"; }
# rx NAME [options]: a receiver on port sw0.NAME whose MAC ends in NAME
rx() {
	local name=$1
	shift
	"$PKTGEN" -p "sw0.$name" -m rx --src "$(mac "$name")" --announce "$@" >"$T/$name.rx" 2>&1 &
}
# tx NAME DST [options]: a sender on port sw0.NAME to MAC DST
tx() {
	local name=$1 dst=$2
	shift 2
	"$PKTGEN" -p "sw0.$name" -m tx --src "$(mac "$name")" --dst "$dst" "$@" >"$T/$name.tx" 2>&1 &
}
rx_of() { "$SWITCH" ports sw0 | awk -v p="sw0.$1" '$2 == p { print $4 }'; }
joined() { wait_for "$T/sw.log" "port sw0.$1 joined" 30 "${2:-1}"; }
learned() { wait_for "$T/sw.log" "learned $(mac "$1") on sw0.$1" 30 "${2:-1}"; }
ok() { # ok PID NAME.EXT: the pktgen exited 0
	exits_within "$1" 60 || {
		"$SWITCH" ports sw0 >&2
		fail "$2 still running: $(cat "$T/$2") --- switch: $(cat "$T/sw.log")"
	}
	wait "$1" || fail "$2 failed: $(cat "$T/$2")"
}

"$SWITCH" -v --stay sw0 >>"$T/sw.log" 2>&1 & # (stays between the steps below)
sw=$!
wait_for "$T/sw.log" "running"
st=0
"$SWITCH" sw0 >"$T/sw2.log" 2>&1 || st=$?
[ "$st" = 3 ] || fail "a second sw0: status $st"
expect_in "$T/sw2.log" "sw0: already running"
"$SWITCH" list >"$T/list" || fail "list"
expect_in "$T/list" "sw0"

# unicast: b gets all of a's frames, c none (its check would see a second session)
rx 0b -c -n 300000; b=$!
rx 0c -c -n 100000; c=$!
learned 0b
learned 0c
tx 0a "$(mac 0b)" -n 300000; a=$!
ok $a 0a.tx
ok $b 0b.rx
expect_in "$T/0b.rx" "first 0 last 299999 packets 300000 fin"
expect_in "$T/0b.rx" "rx: sessions 1 errors 0"
wait_for "$T/sw.log" "port sw0.0a left (rx 300000 tx 0 drop_full 0 bad 0)"
echo "unicast: $(grep -h Mpps "$T/0a.tx")"

# broadcast from a fresh port: c and d get every frame, the sender none
rx 0d -c -n 100000; d=$!
learned 0d
"$SWITCH" macs sw0 >"$T/macs" || fail "macs"
expect_in "$T/macs" "$(mac 0c)"
expect_in "$T/macs" "sw0.0d"
tx 0e ff:ff:ff:ff:ff:ff -n 100000; e=$!
ok $e 0e.tx
ok $c 0c.rx
ok $d 0d.rx
for r in 0c 0d; do
	expect_in "$T/$r.rx" "first 0 last 99999 packets 100000 fin"
	expect_in "$T/$r.rx" "rx: sessions 1 errors 0"
done
wait_for "$T/sw.log" "port sw0.0e left (rx 100000 tx 0 drop_full 0 bad 0)"

# a pipe of two ring pairs is refused as a port (frames are delivered on RX
# ring 0 only: its ring 1 would wait for ever)
"$PKTGEN" -p sw0.mr -r 2 --ring 1 -m rx -n 1 >"$T/mr.rx" 2>&1 &
mr=$!
wait_for "$T/sw.log" "sw0.mr: refused: 2 ring pairs; a port has 1"
"$SWITCH" ports sw0 >"$T/ports.mr" || fail "ports"
! grep -q "sw0.mr" "$T/ports.mr" || fail "a two-ring port joined: $(cat "$T/ports.mr")"
kill9 $mr

# a receiver killed with -9 and restarted rejoins; 10 keeps pinging 11
"$PKTGEN" -p sw0.11 -m pong --src "$(mac 11)" --announce >"$T/11.pong" 2>&1 &
r11=$!
learned 11
"$PKTGEN" -p sw0.10 -m ping -n 10000000 --src "$(mac 10)" --dst "$(mac 11)" >"$T/10.ping" 2>&1 &
s10=$!
rx 21; r21=$!
learned 21
tx 20 "$(mac 21)" --rate 100000; s20=$!
kill9 $r21
wait_for "$T/sw.log" "port sw0.21 left"
pings=$(rx_of 10)
rx 21 -n 20000; r21=$!
learned 21 2
ok $r21 21.rx
expect_in "$T/21.rx" "rx: 20000 packets"
"$SWITCH" ports sw0 >"$T/ports" || fail "ports"
expect_in "$T/ports" "sw0.20"
expect_in "$T/ports" "sw0.11"
[ "$(rx_of 10)" -gt "$pings" ] || fail "10 stopped pinging 11 while 21 came back"
kill9 $s10
kill9 $r11
kill9 $s20

# the switch killed with -9 and restarted: the ports come back by themselves
rx 31; r31=$!
learned 31
tx 30 "$(mac 31)" --rate 50000; s30=$!
joined 30
kill9 $sw
"$SWITCH" -v sw0 >>"$T/sw.log" 2>&1 & # without --stay now
sw=$!
joined 30 2
joined 31 2
learned 31 2
"$SWITCH" ports sw0 >"$T/ports2" || fail "ports after the restart"
expect_in "$T/ports2" "sw0.30"
expect_in "$T/ports2" "sw0.31"
kill $s30
wait $s30 2>/dev/null
kill $r31
wait $r31 2>/dev/null
# its last port gone, the switch leaves
exits_within $sw 30 || fail "the switch stayed after its last port: $(cat "$T/sw.log")"
wait $sw || fail "switch status $?"
expect_in "$T/sw.log" "last port left: exiting"
echo "ok"
