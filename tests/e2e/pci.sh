#!/bin/bash
# PCI end to end with pci-testdev (guest tests/guest/pci.c): every guest check
# passes (ids, BAR sizing, trapped I/O and MMIO, BAR moves, decode bits, doorbells
# without exits, MSI-X masking and pending bits, INTx); the devmem segment is
# exported while the VM runs, holds the bytes the guest wrote, and carries the
# host's cookie back to the guest; `modvmm -v run` prints the PCI topology; the
# segment and its folder are gone after the VM exits and after SIGTERM; a second
# VM of the same name is refused while the first runs.
# usage: pci.sh MODVMM pci.elf
. "$(dirname "$0")/lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2")
need_kvm
ROOT=${MODVMM_RUNDIR:-/dev/shm/modvmm}
VM=pci-e2e-$$ SEG=tdmem SIZE=131072
DIR=$ROOT/$VM FILE=$ROOT/$VM/$SEG
# the guest's side of the handshake (tests/guest/pci.c)
PATTERN_OFF=4096 PATTERN_LEN=4096 COOKIE_OFF=8192
DEVMEM_MAGIC=6d64766d   # TESTDEV_DEVMEM_MAGIC, pci-testdev-regs.h

basic_ini "$T/vm.ini" "$GUEST" "name = $VM
cmdline = slot=5 devmem=$SIZE handshake=1 kicks=1000"
cat >>"$T/vm.ini" <<INI

[device td0]
plugin = pci-testdev
slot = 5
devmem_size = 128K
segment = $SEG
INI

# start_vm: modvmm -v run in the background, its stdout on fd 3
start_vm() {
	rm -f "$T/fifo"
	mkfifo "$T/fifo"
	"$MODVMM" -v run "$T/vm.ini" >"$T/fifo" 2>"$T/err" &
	pid=$!
	exec 3<"$T/fifo"
	: >"$T/out"
}

# wait_line TEXT: copy the guest's lines to $T/out until one equals TEXT
wait_line() {
	while IFS= read -r -t "$(scaled 60)" line <&3; do
		printf '%s\n' "$line" >>"$T/out"
		[ "$line" != "$1" ] || return 0
	done
	kill -9 "$pid" 2>/dev/null
	cat "$T/out" "$T/err" >&2
	fail "the guest never printed '$1'"
}

# finish_vm: the rest of the output, then the exit status in $status
finish_vm() {
	while IFS= read -r -t "$(scaled 60)" line <&3; do
		printf '%s\n' "$line" >>"$T/out"
	done
	status=0
	wait "$pid" || status=$?
	exec 3<&-
}

# 1. the whole guest, with the devmem handshake
start_vm
wait_line "devmem pattern ready"
[ -f "$FILE" ] || fail "no exported devmem file $FILE while the VM runs (folder: $(ls -a "$DIR" 2>&1))"
[ "$(stat -c %s "$FILE")" = "$SIZE" ] || fail "$FILE is $(stat -c %s "$FILE") bytes, expected $SIZE"
[ "$(od -An -tx4 -N4 "$FILE" | tr -d ' ')" = "$DEVMEM_MAGIC" ] || fail "$FILE does not start with the device's magic"
od -An -v -tu1 -j "$PATTERN_OFF" -N "$PATTERN_LEN" "$FILE" | tr -s ' ' '\n' | sed '/^$/d' >"$T/got"
awk -v n="$PATTERN_LEN" 'BEGIN { for (i = 0; i < n; i++) print (i * 31 + 7) % 256 }' >"$T/want"
cmp -s "$T/got" "$T/want" || fail "$FILE does not hold the guest's pattern at offset $PATTERN_OFF"
echo "ok: the guest's pattern is in $FILE while the VM runs"
# the cookie 0x600df00d, little endian, through the file
printf '\x0d\xf0\x0d\x60' | dd of="$FILE" bs=1 seek="$COOKIE_OFF" conv=notrunc status=none ||
	fail "cannot write the cookie into $FILE"
finish_vm
if [ "$status" != 0 ] || ! grep -qx "pci guest: all checks passed" "$T/out"; then
	grep '^FAIL' "$T/out" >&2
	cat "$T/err" >&2
	fail "the pci guest failed (exit status $status)"
fi
expect_in "$T/out" "ok: host cookie seen through the devmem BAR"
echo "ok: $(grep -c '^ok:' "$T/out") guest checks passed"
[ ! -e "$DIR" ] || fail "$DIR still exists after the VM exited: $(ls -a "$DIR")"
echo "ok: the devmem file and its folder are gone after the VM exited"

# 2. the topology printed by -v (core/pci/pci_vm.c)
expect_in "$T/err" "PCI 00:00.0 [host bridge]"
expect_in "$T/err" "PCI 00:05.0 [td0] 1b36:7e57 class ff.00.00 rev 1"
expect_in "$T/err" "MSI-X 4 vectors"
grep -Eq "PCI +BAR0 io +0x[0-9a-f]+ size 0x100 trapped" "$T/err" || fail "no BAR0 line in: $(cat "$T/err")"
grep -Eq "PCI +BAR1 mem32 +0x[0-9a-f]+ size 0x1000 trapped" "$T/err" || fail "no BAR1 line in: $(cat "$T/err")"
grep -Eq "PCI +BAR2 mem64 pref +0x[0-9a-f]+ size 0x20000 devmem '$SEG' $FILE" "$T/err" ||
	fail "no BAR2 line in: $(cat "$T/err")"
echo "ok: modvmm -v run prints the PCI topology"

# 3. SIGTERM while the guest waits for the cookie; a second VM of the same name
start_vm
wait_line "devmem pattern ready"
[ -f "$FILE" ] || fail "no exported devmem file $FILE in the second run"
status=0
timeout 60 "$MODVMM" run "$T/vm.ini" >"$T/out2" 2>"$T/err2" || status=$?
[ "$status" = 242 ] || fail "a second VM named $VM: exit status $status, expected 242 ($(cat "$T/err2"))"
[ -f "$FILE" ] || fail "the refused second VM removed the first VM's $FILE"
echo "ok: a second VM of the same name is refused and leaves the first one's segment alone"
kill -TERM "$pid"
finish_vm
[ "$status" = 0 ] || fail "SIGTERM: exit status $status, expected 0 ($(cat "$T/err"))"
[ ! -e "$DIR" ] || fail "$DIR still exists after SIGTERM: $(ls -a "$DIR")"
echo "ok: the devmem file and its folder are gone after SIGTERM"
