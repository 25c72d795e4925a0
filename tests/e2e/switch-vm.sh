#!/bin/bash
# ptnetmap-memdev guests on a learning switch with modvmm-pktgen ports:
#  1. a guest's pipe backend (`switch = sw0`) starts modvmm-switch itself;
#     pktgen broadcasts N sequence-numbered frames that reach the guest and
#     a second pktgen port, and not the sender;
#  2. a second guest sends N frames to one pktgen port's MAC (unicast,
#     learned from its announcement); the other receives none of them;
#  3. a receiving guest killed with -9 and restarted gets a new stream whole,
#     while two other ports keep ping-ponging;
#  4. the switch (started by hand this time) leaves with its last port.
# usage: switch-vm.sh MODVMM GUEST.elf modvmm-pktgen modvmm-switch
. "$(dirname "$0")/lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2") PKTGEN=$(realpath "$3")
export MODVMM_SWITCH=$(realpath "$4")
need_kvm
export MODVMM_RUNDIR=$T/run
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
N=200000
mac() { printf '02:00:00:00:00:%s' "$1"; }
ports() { "$MODVMM_SWITCH" ports sw0 >"$T/ports.$1" || fail "ports: no switch"; }
rx_of() { "$MODVMM_SWITCH" ports sw0 | awk -v p="sw0.$1" '$2 == p { print $4 }'; }
# rx_all PID NAME: the checking pktgen receiver NAME exits 0 with all N frames in order
rx_all() {
	exits_within "$1" 60 || fail "$2 still running: $(cat "$T/$2.rx")"
	wait "$1" || fail "$2: $(cat "$T/$2.rx")"
	expect_in "$T/$2.rx" "first 0 last $((N - 1)) packets $N fin"
	expect_in "$T/$2.rx" "rx: sessions 1 errors 0"
}

# 1. the guest starts the switch; a broadcast stream reaches it and h2
pipe_vm_ini "$T/rx.ini" "$GUEST" "mode=rx count=$N" vm1 ptnetmap-memdev "switch = sw0"
timeout 120 "$MODVMM" -v run "$T/rx.ini" >"$T/rx.out" 2>"$T/rx.err" &
vm=$!
wait_for "$T/rx.out" "memdev: rx ready on ring 0"
expect_in "$T/rx.err" "pipe sw0.vm1: started switch sw0"
"$PKTGEN" -p sw0.h2 -m rx -c -n $N --src "$(mac 02)" --announce >"$T/h2.rx" 2>&1 &
h2=$!
wait_for "$T/h2.rx" "rx: link up"
timeout 60 "$PKTGEN" -p sw0.h1 -m tx -n $N --src "$(mac 01)" --dst ff:ff:ff:ff:ff:ff \
	>"$T/h1.tx" 2>&1 || fail "pktgen tx: $(cat "$T/h1.tx")"
vm_ok rx $vm
rx_all $h2 h2
expect_in "$T/rx.out" "first 0, last $((N - 1)), errors 0"
expect_in "$T/rx.out" "memdev rx ok: $N packets in order"
expect_in "$T/h1.tx" "dropped 0, refused 0"
echo "pktgen -> switch -> guest + pktgen: $(grep -h Mpps "$T/h1.tx")"

# 2. guest -> the MAC of h3 (the memdev guest sends to 02:00:00:00:00:01); h4 hears nothing
"$PKTGEN" -p sw0.h3 -m rx -c -n $N --src "$(mac 01)" --announce >"$T/h3.rx" 2>&1 &
h3=$!
"$PKTGEN" -p sw0.h4 -m rx -c --src "$(mac 04)" --announce >"$T/h4.rx" 2>&1 &
h4=$!
# (the switch of step 1 left with its last port: this one is started by hand)
"$MODVMM_SWITCH" -v sw0 >"$T/sw.log" 2>&1 &
sw=$!
wait_for "$T/h3.rx" "rx: link up"
wait_for "$T/h4.rx" "rx: link up"
wait_for "$T/sw.log" "learned $(mac 01) on sw0.h3"
ports before
expect_in "$T/ports.before" "sw0.h3"
pipe_vm_ini "$T/tx.ini" "$GUEST" "mode=tx count=$N" vm2 ptnetmap-memdev "switch = sw0"
timeout 120 "$MODVMM" -v run "$T/tx.ini" >"$T/tx.out" 2>"$T/tx.err" &
vm=$!
vm_ok tx $vm
rx_all $h3 h3
expect_in "$T/tx.out" "memdev tx ok: $N packets of 64 bytes"
ports after
# h4 got the announcements of h3 (it joined first, so h3's came later) and nothing else
awk '$2 == "sw0.h4" { if ($5 > 1) exit 1 }' "$T/ports.after" ||
	fail "h4 received the unicast stream: $(cat "$T/ports.after")"
! grep -q "started switch" "$T/tx.err" || fail "a second switch was started: $(cat "$T/tx.err")"

# 3. a receiving guest killed with -9 in the middle of a stream and restarted
#    gets a new stream whole, while h5 keeps pinging h6 all along
"$PKTGEN" -p sw0.h6 -m pong --src "$(mac 06)" --announce >"$T/h6.pong" 2>&1 &
h6=$!
wait_for "$T/sw.log" "learned $(mac 06) on sw0.h6"
"$PKTGEN" -p sw0.h5 -m ping -n 100000000 --src "$(mac 05)" --dst "$(mac 06)" >"$T/h5.ping" 2>&1 &
h5=$!
wait_for "$T/sw.log" "port sw0.h5 joined" # (a slow handshake is retried a second later)
pipe_vm_ini "$T/rx3.ini" "$GUEST" "mode=rx count=$N" vm3 ptnetmap-memdev "switch = sw0"
"$MODVMM" -v run "$T/rx3.ini" >"$T/rx3.out" 2>"$T/rx3.err" &
vm=$! # modvmm itself (not under timeout(1)): kill -9 must reach it
wait_for "$T/rx3.out" "memdev: rx ready on ring 0"
"$PKTGEN" -p sw0.h7 -m tx --rate 20000 --src "$(mac 07)" --dst ff:ff:ff:ff:ff:ff >"$T/h7.tx" 2>&1 &
h7=$!
wait_for "$T/rx3.out" "memdev: session"
kill9 $vm
wait_for "$T/sw.log" "port sw0.vm3 left"
kill9 $h7
pings=$(rx_of h5)
timeout 120 "$MODVMM" -v run "$T/rx3.ini" >"$T/rx3b.out" 2>"$T/rx3b.err" &
vm=$!
wait_for "$T/rx3b.out" "memdev: rx ready on ring 0"
timeout 60 "$PKTGEN" -p sw0.h8 -m tx -n $N --src "$(mac 08)" --dst ff:ff:ff:ff:ff:ff \
	>"$T/h8.tx" 2>&1 || fail "h8: $(cat "$T/h8.tx")"
vm_ok rx3b $vm
expect_in "$T/rx3b.out" "memdev rx ok: $N packets in order"
[ -n "$pings" ] && [ "$(rx_of h5)" -gt "$pings" ] || fail "h5 stopped pinging h6 while vm3 came back"
kill9 $h5
kill9 $h6
kill $h4
wait $h4 2>/dev/null
# 4. the last port gone, the switch leaves
exits_within $sw 30 || fail "the switch stayed after its last port: $(cat "$T/sw.log")"
wait $sw || fail "switch status $?"
echo "ok"
