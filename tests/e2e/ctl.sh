#!/bin/bash
# The control socket against a running test guest that prints "tick N" as it
# counts: list, status, stats, pause (the count stops), resume (it goes on),
# events, stop; a second VM of the same name runs without a socket; a VM whose
# socket folder was removed keeps running.
# usage: ctl.sh MODVMM ticker.elf
. "$(dirname "$0")/lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2")
need_kvm
export MODVMM_RUNDIR=$T/run
basic_ini "$T/vm.ini" "$GUEST" "name = ctltest
vcpus = 2
cmdline = cycles=20000000"

last_tick() { grep -o '^tick [0-9]*' "$1" | tail -1 | cut -d' ' -f2; }

"$MODVMM" run "$T/vm.ini" >"$T/out" 2>"$T/err" &
vm=$!
wait_for "$T/out" "tick 3" 60
[ -S "$T/run/ctltest/control.sock" ] || fail "no socket at $T/run/ctltest/control.sock"
[ "$(stat -c %a "$T/run/ctltest/control.sock")" = 600 ] || fail "socket mode $(stat -c %a "$T/run/ctltest/control.sock"), expected 600"

"$MODVMM" list >"$T/list" || fail "list failed"
grep -Eq "^ctltest +running +2 +32 +$vm " "$T/list" || fail "list: $(cat "$T/list")"
"$MODVMM" status ctltest >"$T/status" || fail "status failed"
expect_in "$T/status" "VM ctltest: running (pid $vm"
expect_in "$T/status" "2 vCPUs, 32 MiB"
grep -Eq "device +com1 +serial" "$T/status" || fail "status lists no com1: $(cat "$T/status")"
"$MODVMM" status --json "$T/run/ctltest/control.sock" >"$T/status.json" || fail "status by path failed"
expect_in "$T/status.json" '"state":"running"'

"$MODVMM" events ctltest >"$T/events" &
ev=$!
wait_for "$T/events" "events of ctltest" 30

# pause: the guest's count stops; the vCPUs make no exits
"$MODVMM" pause ctltest >"$T/pause" || fail "pause failed"
expect_in "$T/pause" "ctltest: paused"
"$MODVMM" status ctltest | grep -q "ctltest: paused" || fail "status does not say paused"
"$MODVMM" stats ctltest >"$T/stats1" || fail "stats failed"
n1=$(last_tick "$T/out")
sleep "$(scaled 1)"  # an observation window: the guest ticks every ~10 ms unpaused (emulated: ~10 times slower)
n2=$(last_tick "$T/out")
"$MODVMM" stats ctltest >"$T/stats2"
[ "$n1" = "$n2" ] || fail "the guest kept counting while paused: tick $n1 then $n2"
cmp -s "$T/stats1" "$T/stats2" || fail "vCPU exits while paused: $(diff "$T/stats1" "$T/stats2")"
expect_in "$T/stats1" "vcpu0:"
# resume: the count goes on
"$MODVMM" resume ctltest | grep -q "ctltest: running" || fail "resume failed"
wait_for "$T/out" "tick $((n2 + 3))" 30
echo "ok: paused at tick $n2 for $(scaled 1) s; resumed: $(last_tick "$T/out")"

# stats --watch: a block of counters a second until stopped
"$MODVMM" stats --watch --interval 1 ctltest >"$T/watch" &
watch=$!
wait_for "$T/watch" "--- ctltest " 30 3
kill $watch
wait $watch 2>/dev/null
[ "$(grep -c "^vcpu0: " "$T/watch")" -ge 3 ] || fail "stats --watch: $(cat "$T/watch")"

# errors are reported, the VM unharmed
"$MODVMM" stats ctltest nosuch 2>"$T/e1" && fail "stats of a missing device succeeded"
expect_in "$T/e1" "no device or backend named 'nosuch'"
"$MODVMM" command ctltest com1 frob 2>"$T/e2" && fail "a missing command succeeded"
expect_in "$T/e2" "has no command 'frob'"

# a second VM of the same name: no socket of its own, the first still answers
"$MODVMM" run "$T/vm.ini" >"$T/out2" 2>"$T/err2" &
vm2=$!
wait_for "$T/out2" "tick 1" 60
expect_in "$T/err2" "another VM answers there"
"$MODVMM" status ctltest | grep -q "pid $vm," || fail "the first VM lost its socket"
kill -TERM $vm2
exits_within $vm2 60 || fail "the second VM ignored SIGTERM"

# stop, while paused: the VM exits 0, the events client sees it all and ends
"$MODVMM" pause ctltest | grep -q "ctltest: paused" || fail "the second pause failed"
"$MODVMM" stop ctltest >"$T/stop" || fail "stop failed: $(cat "$T/stop")"
expect_in "$T/stop" "ctltest: stopped"
exits_within $vm 30 || fail "modvmm still runs after stop"
st=0
wait $vm || st=$?
[ "$st" = 0 ] || fail "exit status $st after stop"
exits_within $ev 30 || fail "the events client still runs after the VM exited"
for e in paused resumed stopping stopped; do
	grep -q " $e" "$T/events" || fail "no '$e' event: $(cat "$T/events")"
done
[ ! -e "$T/run/ctltest" ] || fail "the runtime folder is left: $(ls -la "$T/run/ctltest")"
"$MODVMM" status ctltest 2>/dev/null && fail "status of a stopped VM succeeded"

# the socket's folder removed under a running VM: it runs on, SIGTERM ends it
"$MODVMM" run "$T/vm.ini" >"$T/out3" 2>"$T/err3" &
vm3=$!
wait_for "$T/out3" "tick 1" 60
rm -rf "$T/run/ctltest"
n=$(last_tick "$T/out3")
wait_for "$T/out3" "tick $((n + 2))" 30
kill -TERM $vm3
exits_within $vm3 60 || fail "the VM without its folder ignored SIGTERM"
st=0
wait $vm3 || st=$?
[ "$st" = 0 ] || fail "exit status $st of the VM without its folder"
echo "ok: list, status, stats, pause, resume, events, stop while paused; a VM without its socket folder runs on"
