#!/bin/bash
# A guest drives a pipe end through ptnetmap-memdev (its rings mapped by BAR1,
# kicks through ioeventfds) against modvmm-pktgen on the other end:
#  1. host pktgen tx -> guest rx (the VM creates the pipe, pktgen joins);
#  2. guest tx -> host pktgen rx (pktgen creates it with 64-slot rings, so the
#     guest waits on a full ring and the host side sleeps and is kicked):
#     pktgen pulls the guest's TX ring itself, then again with --no-pull
#     (modvmm's pipe-tx thread moves it);
#  3. two memdevs in one VM, the guest drives the second (dev=1) on ring 1;
#  4. the pulling pktgen is killed -9 while the guest waits on a full ring;
#     a new one resumes pulling where it left the ring;
#  5. pktgen ping against the guest's echo (pktgen pulls the echoes).
# N packets with sequence numbers each time, none lost or reordered.
# usage: memdev-pktgen.sh MODVMM GUEST.elf modvmm-pktgen
. "$(dirname "$0")/lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2") PKTGEN=$(realpath "$3")
need_kvm
export MODVMM_RUNDIR=$T/run
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT

# memdev_ini FILE CMDLINE PIPE [PIPE2]: a VM with one memdev per pipe; $BE
# holds extra lines for every [backend].
BE=
memdev_ini() {
	basic_ini "$1" "$GUEST" "cmdline = $2"
	local i=0 p
	for p in "${@:3}"; do
		cat >>"$1" <<INI

[backend p$i]
plugin = pipe
name = $p
$BE

[device md$i]
plugin = ptnetmap-memdev
backend = p$i
memid = $((i + 7))
INI
		i=$((i + 1))
	done
}

# start_vm INI TAG: modvmm in the background, output in $T/TAG.{out,err}.
start_vm() {
	timeout 120 "$MODVMM" -v run "$1" >"$T/$2.out" 2>"$T/$2.err" &
	vm=$!
}


# 1. pktgen -> guest
N=1000000
memdev_ini "$T/rx.ini" "mode=rx count=$N" h2g
start_vm "$T/rx.ini" rx
wait_for "$T/rx.out" "memdev: rx ready on ring 0"
timeout 60 "$PKTGEN" -p h2g -m tx -n $N >"$T/h2g.tx" 2>&1 || fail "pktgen tx: $(cat "$T/h2g.tx")"
vm_ok rx $vm
expect_in "$T/rx.out" "memid 7"
expect_in "$T/rx.out" "first 0, last $((N - 1)), errors 0"
expect_in "$T/rx.out" "memdev rx ok: $N packets in order"
expect_in "$T/h2g.tx" "tx: $N packets in"
expect_in "$T/h2g.tx" "dropped 0, refused 0"
expect_in "$T/rx.err" "pipe h2g end 0: link up"
echo "host -> guest: $(grep -h Mpps "$T/h2g.tx")"

# 2. guest -> pktgen, small rings, pulled by pktgen and then pushed by modvmm
for how in pull no-pull; do
	opt=; [ $how = no-pull ] && opt=--no-pull
	"$PKTGEN" -p g2h$how -m rx -c -S 64 $opt >"$T/g2h.rx" 2>&1 &
	rx=$!
	memdev_ini "$T/tx.ini" "mode=tx count=$N batch=32" g2h$how
	start_vm "$T/tx.ini" tx
	vm_ok tx $vm
	pktgen_rx_ok $rx "$T/g2h.rx"
	expect_in "$T/tx.out" "1 ring pair(s), 64 slots"
	expect_in "$T/tx.out" "memdev tx ok: $N packets of 64 bytes"
	expect_in "$T/tx.out" "refused 0"
	expect_in "$T/g2h.rx" "first 0 last $((N - 1)) packets $N fin"
	expect_in "$T/g2h.rx" "rx: sessions 1 errors 0"
	if [ $how = pull ]; then
		expect_in "$T/tx.err" "pipe g2h$how end 1: link up (the peer pulls the TX rings)"
		expect_in "$T/g2h.rx" "rx: link up (pulling the peer's TX ring)"
		expect_in "$T/g2h.rx" "refused 0, pulled $N"
	else
		expect_in "$T/tx.err" "pipe g2h$how end 1: link up"
		! grep -q "pulls" "$T/tx.err" || fail "pulled with --no-pull: $(cat "$T/tx.err")"
		expect_in "$T/g2h.rx" "refused 0, pulled 0"
	fi
	echo "guest -> host ($how): $(grep -h Mpps "$T/g2h.rx")"
done

# 3. the second of two memdevs, ring pair 1 of 2
"$PKTGEN" -p two-b -m rx -c -r 2 --ring 1 >"$T/two.rx" 2>&1 &
rx=$!
BE="rings = 2" memdev_ini "$T/two.ini" "mode=tx count=100000 dev=1 ring=1 size=1000" two-a two-b
start_vm "$T/two.ini" two
vm_ok two $vm
pktgen_rx_ok $rx "$T/two.rx"
expect_in "$T/two.out" "memid 8"
expect_in "$T/two.out" "2 ring pair(s), 1024 slots"
expect_in "$T/two.rx" "first 0 last 99999 packets 100000 fin"
expect_in "$T/two.rx" "rx: sessions 1 errors 0"

# 4. kill -9 of the puller while the guest waits on a full ring, then a new one
"$PKTGEN" -p g2hk -m rx -S 64 --hold-after 5000 >"$T/k1.rx" 2>&1 &
rx=$!
memdev_ini "$T/k.ini" "mode=tx count=$N batch=32" g2hk
start_vm "$T/k.ini" k
wait_for "$T/k1.rx" "rx: holding after 5000 packets"
kill9 $rx
wait_for "$T/k.err" "pipe g2hk end 1: link down"
"$PKTGEN" -p g2hk -m rx -c >"$T/k2.rx" 2>&1 &
rx=$!
vm_ok k $vm
pktgen_rx_ok $rx "$T/k2.rx"
expect_in "$T/k1.rx" "rx: link up (pulling the peer's TX ring)"
expect_in "$T/k2.rx" "rx: link up (pulling the peer's TX ring)"
expect_in "$T/k2.rx" "last $((N - 1)) packets"
expect_in "$T/k2.rx" "rx: sessions 1 errors 0"
expect_in "$T/k.out" "memdev tx ok: $N packets of 64 bytes"
first=$(sed -n 's/.*session [0-9a-f]*: first \([0-9]*\) .*/\1/p' "$T/k2.rx")
# lost: at most what the dead pktgen held in its RX ring (64 slots)
[ -n "$first" ] && [ "$first" -ge 5000 ] && [ "$first" -le $((5000 + 64)) ] ||
	fail "resumed at sequence '$first': $(cat "$T/k2.rx")"

# 5. ping-pong: round trips through the guest's echo
memdev_ini "$T/e.ini" "mode=echo count=2000" pe
start_vm "$T/e.ini" e
wait_for "$T/e.out" "memdev: echo ready on ring 0"
timeout 60 "$PKTGEN" -p pe -m ping -n 2000 >"$T/ping" 2>&1 || fail "pktgen ping: $(cat "$T/ping")"
vm_ok e $vm
expect_in "$T/ping" "ping: link up (pulling the peer's TX ring)"
expect_in "$T/ping" "ping: 2000 packets in"
expect_in "$T/ping" "ping: rtt min"
expect_in "$T/e.out" "memdev echo ok: 2000 packets, bad 0"
echo "ping: $(grep -h "rtt" "$T/ping")"
echo "ok"
