#!/bin/bash
# A ptnetmap-memdev guest and a virtio-net guest on the same learning switch,
# with a modvmm-pktgen port l listening:
#  1. the virtio-net guest (pipe backend, `switch = sw0`) broadcasts frames
#     of six sizes; the memdev guest, driving its rings itself, answers each
#     to the sender's MAC from its own (02:00:00:00:00:0d); every frame
#     comes back intact; l got every broadcast and none of the answers
#     (learned unicast);
#  2. the switch killed with -9 and restarted while both VMs run: every port
#     (the virtio-net VM's, the memdev VM's, l) rejoins the new switch by
#     itself; virtio-net saw its link go down and up (vnet-test mode=flap)
#     and its new frames come back through the same, never restarted,
#     memdev guest.
# usage: switch-vnet.sh MODVMM GUEST-memdev.elf GUEST-vnet-test.elf modvmm-pktgen modvmm-switch
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vnet-lib.sh"
MODVMM=$(realpath "$1") MEMDEV=$(realpath "$2") VNET=$(realpath "$3") PKTGEN=$(realpath "$4")
export MODVMM_SWITCH=$(realpath "$5")
need_kvm
export MODVMM_RUNDIR=$T/run
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
FRAMES=1000
ports() { "$MODVMM_SWITCH" ports sw0 >"$T/ports.$1" || fail "ports: no switch"; }
# col FILE PORT N: column N of port sw0.PORT in a `ports` answer (4 rx, 5 tx)
col() { awk -v p="sw0.$2" -v n="$3" '$2 == p { print $n }' "$1"; }

# vnet_vm NAME CMDLINE: the virtio-net guest on port sw0.vn (pid in $vpid)
vnet_vm() {
	vnet_ini "$T/$1.ini" "$VNET" "$2" "plugin = pipe
name = vn
switch = sw0" ""
	timeout 120 "$MODVMM" -v run "$T/$1.ini" >"$T/$1.out" 2>"$T/$1.err" &
	vpid=$!
}

"$MODVMM_SWITCH" -v sw0 >"$T/sw1.log" 2>&1 &
sw=$!
wait_for "$T/sw1.log" "running"
"$PKTGEN" -p sw0.l -m rx --src 02:00:00:00:00:01 >"$T/l.rx" 2>&1 &
l=$!
pipe_vm_ini "$T/md.ini" "$MEMDEV" "mode=echo count=1000000000 mac=0x0d timeout=$(scaled 60)" md \
	ptnetmap-memdev "switch = sw0"
"$MODVMM" -v run "$T/md.ini" >"$T/md.out" 2>"$T/md.err" &
md=$!
wait_for "$T/md.out" "memdev: echo ready"
wait_for "$T/sw1.log" "port sw0.md joined"
wait_for "$T/sw1.log" "port sw0.l joined"

# 1. virtio-net <-> memdev through the switch
vnet_vm vn1 "mode=echo frames=$FRAMES"
wait_for "$T/sw1.log" "port sw0.vn joined" 60
vm_ok vn1 $vpid
expect_in "$T/vn1.out" "ok: $FRAMES frames of 6 sizes came back intact"
expect_in "$T/vn1.err" "backend pipe"
wait_for "$T/sw1.log" "learned 02:00:00:00:00:0d on sw0.md"
wait_for "$T/sw1.log" "port sw0.vn left (rx $FRAMES tx $FRAMES drop_full 0"
ports one
[ "$(col "$T/ports.one" l 5)" = $FRAMES ] ||
	fail "l should have got the $FRAMES broadcasts and none of the answers: $(cat "$T/ports.one")"
[ "$(col "$T/ports.one" md 4)" = $FRAMES ] && [ "$(col "$T/ports.one" md 5)" = $FRAMES ] ||
	fail "md: $FRAMES in and out expected: $(cat "$T/ports.one")"
echo "1. virtio-net -> switch -> memdev -> switch -> virtio-net: $FRAMES frames intact"

# 2. the switch killed with -9 and restarted under both VMs and l
vnet_vm vn2 "mode=flap frames=200"
wait_for "$T/sw1.log" "port sw0.vn joined" 60 2
wait_for "$T/vn2.out" "flap: phase 1 done" 60
kill9 $sw
wait_for "$T/vn2.err" "link down" 60
"$MODVMM_SWITCH" -v sw0 >"$T/sw2.log" 2>&1 &
sw=$!
for p in vn md l; do
	wait_for "$T/sw2.log" "port sw0.$p joined" 60
done
vm_ok vn2 $vpid
expect_in "$T/vn2.out" "ok: the link went down and came back"
expect_in "$T/vn2.out" "ok: after the reconnect 200 frames came back intact"
expect_in "$T/vn2.out" "vnet-test: 0 failure(s)"
[ "$(grep -c 'link up' "$T/vn2.err")" = 2 ] || fail "vn2: expected two link-ups: $(cat "$T/vn2.err")"
grep -q "link down" "$T/md.err" || fail "the memdev VM never saw the switch go: $(cat "$T/md.err")"
ports two
[ "$(col "$T/ports.two" md 4)" -ge 200 ] || fail "md answered nothing after the restart: $(cat "$T/ports.two")"
[ "$(col "$T/ports.two" l 3)" = up ] || fail "l is not back: $(cat "$T/ports.two")"
kill9 $md
kill9 $l
exits_within $sw 30 || fail "the switch stayed after its last port: $(cat "$T/sw2.log")"
wait $sw || fail "switch status $?"
echo "2. switch killed -9 and restarted: vn, md and l back; $(grep -h 'flap: phase 3' "$T/vn2.out")"
echo "ok"
