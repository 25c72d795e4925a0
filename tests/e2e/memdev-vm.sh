#!/bin/bash
# VM <-> VM through a pipe: two modvmm processes, each with a ptnetmap-memdev
# on one end, guests driving the rings directly (the sender's modvmm runs the
# TX engine that swaps buffers into the receiver's RX ring).
#  1. N packets with sequence numbers, none lost or reordered;
#  2. kill -9 of the sending VM mid-stream: the receiving VM keeps running and
#     a restarted sender's whole session arrives;
#  3. kill -9 of the receiving VM while it holds its ring full: the sender
#     waits (its packets stay in its ring), a restarted receiver joins and
#     sees the rest of the session in order, up to the last packet.
# usage: memdev-vm.sh MODVMM GUEST.elf [modvmm-pktgen (unused)]
. "$(dirname "$0")/lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2")
need_kvm
export MODVMM_RUNDIR=$T/run
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT

# vm NAME PIPE CMDLINE: start a VM with one memdev on PIPE in the background;
# its pid in $pid, output in $T/NAME.{out,err}.
vm() {
	pipe_vm_ini "$T/$1.ini" "$GUEST" "$3" "$2" ptnetmap-memdev
	"$MODVMM" -v run "$T/$1.ini" >"$T/$1.out" 2>"$T/$1.err" &
	pid=$! # modvmm itself (not under timeout(1)): kill -9 must reach it
}

N=500000
# 1. plain transfer
vm rx vv "mode=rx count=$N"; rx=$pid
wait_for "$T/rx.out" "memdev: rx ready"
vm tx vv "mode=tx count=$N batch=256"; tx=$pid
vm_ok tx $tx
vm_ok rx $rx
expect_in "$T/rx.out" "memdev rx ok: $N packets in order"
expect_in "$T/tx.out" "memdev tx ok: $N packets"
expect_in "$T/tx.err" "pipe vv end 1: link up"
echo "VM -> VM: $(grep -h 'tx ok' "$T/tx.out")"

# 2. kill the sender
vm rx2 k1 "mode=rx count=300000 sessions=2"; rx=$pid
wait_for "$T/rx2.out" "memdev: rx ready"
vm tx2a k1 "mode=tx count=1000000000 session=0xa1"; txa=$pid
wait_for "$T/rx2.out" "memdev: session a1 at seq 0"
kill9 $txa
wait_for "$T/rx2.err" "pipe k1 end 0: link down" 30 2
vm tx2b k1 "mode=tx count=300000 session=0xb2"; txb=$pid
vm_ok tx2b $txb
vm_ok rx2 $rx
expect_in "$T/rx2.out" "memdev: new session b2 at seq 0"
expect_in "$T/rx2.out" "memdev rx ok: 300000 packets in order"
[ "$(grep -c 'link up' "$T/rx2.err")" = 2 ] || fail "expected two link-ups: $(cat "$T/rx2.err")"
echo "sender restarted: $(grep -h 'memdev rx:' "$T/rx2.out")"

# 3. kill the receiver
vm tx3 k2 "mode=tx count=1000000 session=0xc3"; tx=$pid
wait_for "$T/tx3.err" "pipe k2 end 0: link down"
vm rx3a k2 "mode=rx hold=5000"; rxa=$pid
wait_for "$T/rx3a.out" "memdev: holding after 5000 packets"
kill9 $rxa
wait_for "$T/tx3.err" "pipe k2 end 0: link down" 30 2
vm rx3b k2 "mode=rx count=1000000 late=1"; rxb=$pid
vm_ok rx3b $rxb
vm_ok tx3 $tx
expect_in "$T/rx3b.out" "memdev: session c3 at seq"
expect_in "$T/rx3b.out" "last 999999, errors 0"
expect_in "$T/tx3.out" "memdev tx ok: 1000000 packets"
echo "receiver restarted: $(grep -h 'memdev rx:' "$T/rx3b.out")"
echo "ok"
