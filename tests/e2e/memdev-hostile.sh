#!/bin/bash
# A hostile memdev guest: CSB address registers pointed outside RAM, writes to
# read-only registers and to a doorbell of a ring that does not exist,
# scribbled ring headers and netmap_if, a head and cur beyond the ring, slots
# with buffer indices beyond the pool and lengths beyond the buffer (all on
# ring pair 0).  The host side refuses or drops each (the guest checks the
# CSB), logs once, keeps serving ring pair 1 (modvmm-pktgen receives a checked
# stream there) and ring pair 0 still works afterwards; modvmm stays up.
# usage: memdev-hostile.sh MODVMM GUEST.elf modvmm-pktgen
. "$(dirname "$0")/lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2") PKTGEN=$(realpath "$3")
need_kvm
export MODVMM_RUNDIR=$T/run
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT

"$PKTGEN" -p hp -m rx -c -r 2 --ring 1 >"$T/rx" 2>&1 &
rx=$!
basic_ini "$T/vm.ini" "$GUEST" "cmdline = mode=hostile count=200000 ring=1"
cat >>"$T/vm.ini" <<INI

[backend p0]
plugin = pipe
name = hp
rings = 2

[device md0]
plugin = ptnetmap-memdev
backend = p0
INI
status=0
timeout 120 "$MODVMM" -v run "$T/vm.ini" >"$T/out" 2>"$T/err" || status=$?
if [ "$status" != 0 ] || grep -q FAIL "$T/out"; then
	cat "$T/out" "$T/err" >&2
	fail "hostile guest: status $status"
fi
exits_within $rx 120 || fail "pktgen rx still running: $(cat "$T/rx")"
wait $rx || fail "pktgen rx: $(cat "$T/rx")"
expect_in "$T/out" "memdev: hostile: registers refused"
expect_in "$T/out" "memdev: hostile: head beyond the ring refused"
expect_in "$T/out" "memdev: hostile: bad slots dropped"
expect_in "$T/out" "memdev tx ok: 200000 packets"
expect_in "$T/out" "memdev tx ok: 100 packets"
expect_in "$T/out" "memdev hostile ok"
expect_in "$T/err" "guest wrote read-only register"
expect_in "$T/err" "pipe hp: refused"
[ "$(grep -c "guest wrote read-only register" "$T/err")" = 1 ] || fail "logged more than once: $(cat "$T/err")"
expect_in "$T/rx" "first 0 last 199999 packets 200000 fin"
expect_in "$T/rx" "rx: sessions 1 errors 0"
grep -h "refused" "$T/err"
echo "ok"
