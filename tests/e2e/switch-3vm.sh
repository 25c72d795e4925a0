#!/bin/bash
# Three VMs (ptnetmap-memdev test guests a, b, c: MACs 02:00:00:00:00:0a,
# :0b, :0c) and one modvmm-pktgen port h (:01) on one learning switch:
#  1. unicast: c sends N sequence-numbered frames to a while h sends N to b,
#     both at once; a and b each get their one stream whole and in order
#     and nothing addressed to anybody else (the guests check each frame's
#     destination); c and h got nothing but the two announcements;
#  2. broadcast: c sends N broadcasts; a, b and h each get all N in order;
#     the sender's port got none of them;
#  3. a receiving VM killed with -9 and restarted rejoins and gets a new
#     stream from c whole, while h keeps ping-ponging with b's echo all along.
# Nothing is lost anywhere: the switch holds a sender while a receiver's ring
# is full (its default --hold), so the rate is what the receivers keep up with.
# usage: switch-3vm.sh MODVMM GUEST-memdev.elf modvmm-pktgen modvmm-switch
. "$(dirname "$0")/lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2") PKTGEN=$(realpath "$3")
export MODVMM_SWITCH=$(realpath "$4")
need_kvm
export MODVMM_RUNDIR=$T/run
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
N=100000
TMO=$(scaled 30) # the guests give up after this long without progress
mac() { printf '02:00:00:00:00:%s' "$1"; }
rx_of() { "$MODVMM_SWITCH" ports sw0 | awk -v p="sw0.$1" '$2 == p { print $4 }'; }

# vm NAME PORT CMDLINE: a memdev guest on port sw0.PORT, in the background
# (pid in $pid; output in $T/NAME.{out,err}); modvmm itself, so that kill -9
# reaches it
vm() {
	pipe_vm_ini "$T/$1.ini" "$GUEST" "$3 timeout=$TMO" "$2" ptnetmap-memdev "switch = sw0"
	"$MODVMM" -v run "$T/$1.ini" >"$T/$1.out" 2>"$T/$1.err" &
	pid=$!
}

# left PORT: "rx tx drop_full" of the switch's line for the port's last leave
left() {
	wait_for "$T/sw.log" "port sw0.$1 left" 60 "${2:-1}"
	sed -n "s/.*port sw0\.$1 left (rx \([0-9]*\) tx \([0-9]*\) drop_full \([0-9]*\).*/\1 \2 \3/p" \
		"$T/sw.log" | tail -n 1
}

# rx_ok NAME SESSION: the receiving guest NAME got exactly N frames of
# session SESSION in order, none addressed to another port
rx_ok() {
	expect_in "$T/$1.out" "memdev: session $2 at seq 0"
	expect_in "$T/$1.out" "memdev rx ok: $N packets in order"
	expect_in "$T/$1.out" "memdev rx: foreign 0"
}

"$MODVMM_SWITCH" -v --stay sw0 >"$T/sw.log" 2>&1 &
sw=$!
wait_for "$T/sw.log" "running"

# 1. unicast: c -> a and h -> b at the same time
vm a1 a "mode=rx count=$N mac=0x0a announce=1"; a=$pid
vm b1 b "mode=rx count=$N mac=0x0b announce=1"; b=$pid
wait_for "$T/sw.log" "learned $(mac 0a) on sw0.a" 60
wait_for "$T/sw.log" "learned $(mac 0b) on sw0.b" 60
vm c1 c "mode=tx count=$N mac=0x0c dst=0x0a session=0x5eed000c"; c=$pid
timeout 120 "$PKTGEN" -p sw0.h -m tx -n $N --src "$(mac 01)" --dst "$(mac 0b)" >"$T/h1.tx" 2>&1 ||
	fail "pktgen h: $(cat "$T/h1.tx")"
vm_ok c1 $c
vm_ok a1 $a
vm_ok b1 $b
rx_ok a1 5eed000c
expect_in "$T/b1.out" "memdev rx ok: $N packets in order"
expect_in "$T/b1.out" "memdev rx: foreign 0"
expect_in "$T/b1.out" "sessions 1,"
expect_in "$T/c1.out" "memdev tx ok: $N packets"
expect_in "$T/h1.tx" "dropped 0, refused 0"
# the senders' ports: all N taken from them, nothing sent to them but the
# announcements of a and b (broadcasts)
read -r rx tx drop <<<"$(left c)"
[ "$rx" = $N ] && [ "$tx" -le 2 ] || fail "port c: rx $rx tx $tx (want $N, at most 2)"
read -r rx tx drop <<<"$(left h)"
[ "$rx" = $N ] && [ "$tx" -le 2 ] || fail "port h: rx $rx tx $tx (want $N, at most 2)"
for p in a b; do
	read -r rx tx drop <<<"$(left $p)"
	[ "$drop" = 0 ] && [ "$tx" -ge $N ] || fail "port $p: tx $tx drop_full $drop"
done
echo "1. unicast c -> a and h -> b: $N frames each, only to their destination; $(grep -h Mpps "$T/h1.tx")"

# 2. broadcast from c: a, b and h get all N; c gets none
vm a2 a "mode=rx count=$N mac=0x0a"; a=$pid
vm b2 b "mode=rx count=$N mac=0x0b"; b=$pid
"$PKTGEN" -p sw0.h -m rx -c -n $N --src "$(mac 01)" >"$T/h2.rx" 2>&1 &
h=$!
wait_for "$T/sw.log" "port sw0.a joined" 60 2
wait_for "$T/sw.log" "port sw0.b joined" 60 2
wait_for "$T/sw.log" "port sw0.h joined" 60 2
vm c2 c "mode=tx count=$N mac=0x0c dst=255 session=0x5eed100c"; c=$pid
vm_ok c2 $c
vm_ok a2 $a
vm_ok b2 $b
pktgen_rx_ok $h "$T/h2.rx"
rx_ok a2 5eed100c
rx_ok b2 5eed100c
expect_in "$T/h2.rx" "rx: session 5eed100c: first 0 last $((N - 1)) packets $N fin"
expect_in "$T/h2.rx" "rx: sessions 1 errors 0"
read -r rx tx drop <<<"$(left c 2)"
[ "$rx" = $N ] && [ "$tx" = 0 ] || fail "port c (the broadcaster): rx $rx tx $tx (want $N and 0)"
echo "2. broadcast from c: $N frames to a, b and h in order, none back to c"

# 3. a killed with -9 mid-stream and restarted, while h pings b's echo
vm b3 b "mode=echo count=1000000000 mac=0x0b"; b=$pid
wait_for "$T/b3.out" "memdev: echo ready"
wait_for "$T/sw.log" "port sw0.b joined" 60 3
"$PKTGEN" -p sw0.h -m ping -n 100000000 --src "$(mac 01)" --dst "$(mac 0b)" >"$T/h3.ping" 2>&1 &
h=$!
wait_for "$T/sw.log" "port sw0.h joined" 60 3
vm a3 a "mode=rx count=$N mac=0x0a announce=1"; a=$pid
wait_for "$T/sw.log" "learned $(mac 0a) on sw0.a" 60 2
"$PKTGEN" -p sw0.g -m tx --rate 20000 --src "$(mac 02)" --dst "$(mac 0a)" >"$T/g.tx" 2>&1 &
g=$!
wait_for "$T/a3.out" "memdev: session"
kill9 $a
# g goes too, at once: once a's MAC is forgotten, g's stream is unknown
# unicast, flooded to b, whose echo answers g; a live g that never reads
# and b would hold each other up past --hold, and both be stalled (frames
# for b dropped, h's ping among them: a ping is never sent twice)
kill9 $g
wait_for "$T/sw.log" "port sw0.a left" 60 3
pings=$(rx_of h)
[ -n "$pings" ] || fail "no port h: $("$MODVMM_SWITCH" ports sw0)"
vm a4 a "mode=rx count=$N mac=0x0a announce=1"; a=$pid
wait_for "$T/sw.log" "learned $(mac 0a) on sw0.a" 60 3
vm c3 c "mode=tx count=$N mac=0x0c dst=0x0a session=0x5eed200c"; c=$pid
vm_ok c3 $c
vm_ok a4 $a
rx_ok a4 5eed200c
now=$(rx_of h)
"$MODVMM_SWITCH" ports sw0 >"$T/ports3" || fail "ports: no switch"
[ "${now:-0}" -gt "$pings" ] ||
	fail "h stopped pinging b while a came back ($pings, then ${now:-none}): $(cat "$T/ports3")"
# nothing was dropped for b (a stalled port): every ping reached its echo
awk '$2 == "sw0.b" { exit $6 != 0 }' "$T/ports3" || fail "frames for b dropped: $(cat "$T/ports3")"
kill9 $h
kill9 $b
expect_in "$T/h3.ping" "link up"
grep -q "FAIL" "$T/b3.out" && fail "b's echo: $(cat "$T/b3.out")"
echo "3. a killed with -9 and restarted: a new stream of $N whole; h <-> b ping-pongs $pings, then $now"
kill $sw
wait $sw 2>/dev/null
echo "ok"
