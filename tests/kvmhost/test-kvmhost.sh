#!/bin/bash
# The KVM host tool itself: a command's stdout, stderr and exit status come
# back; it runs in the caller's folder (kept visible under the host's fresh
# /tmp) with the caller's environment and gets /dev/kvm (so with-kvm runs
# tests natively there), /dev/fd, fifos in
# /tmp, tun and network namespaces; a command that hangs is stopped at the
# timeout, a host whose kernel panics or that goes silent is reported (or
# retried with --retries), as is a command that fails after a nested guest
# (modvmm's triple-fault test guest) triple-faulted or took a nested page
# fault in the host's own VMRUN code (npf-at, as a guest whose state the
# emulator lost), and SIGINT or SIGKILL of kvmhost leave no QEMU behind.
# usage: test-kvmhost.sh KVMHOST MODVMM triple-fault.elf npf-at.elf
. "$(dirname "$0")/../e2e/lib.sh"
KVMHOST=$(realpath "$1") MODVMM=$(realpath "$2") TF_GUEST=$(realpath "$3") NPF_GUEST=$(realpath "$4")
tag=kvmhost-test-$$   # in QEMU's -name: how this test finds its own QEMUs

# qemus: the pids of this test's QEMU processes.
qemus() {
	pgrep -f -- "-name $tag" || true
}

# gone PID: PID exits within 30 s (scaled).
gone() {
	timeout 30 tail --pid="$1" -f /dev/null || fail "process $1 still runs"
}

# 1. Output, status, folder, environment, devices.
mkdir "$T/work" && echo payload >"$T/work/in"
cd "$T/work"
st=0
WITH_KVM=$(dirname "$KVMHOST")/with-kvm KH_TEST_VAR='a b' "$KVMHOST" -q -name -q "$tag" -- bash -c '
	echo "out: $(cat in) ${KH_TEST_VAR}"; echo "err: $(pwd)" >&2
	test -c /dev/kvm && echo kvm
	echo "with-kvm: $("$WITH_KVM" --mode)"
	mkfifo /tmp/f && echo fifo
	read -r x < <(echo procsubst) && echo "$x"
	ip netns add khtest && ip netns exec khtest ip link set lo up && echo netns
	ip tuntap add dev khtap mode tap && echo tap
	echo written >out.txt
	exit 7' >"$T/stdout" 2>"$T/stderr" || st=$?
cd - >/dev/null
[ "$st" = 7 ] || fail "status $st, want 7; stderr: $(cat "$T/stderr")"
printf 'out: payload a b\nkvm\nwith-kvm: native\nfifo\nprocsubst\nnetns\ntap\n' | cmp -s - "$T/stdout" ||
	fail "stdout differs: $(cat "$T/stdout"); stderr: $(cat "$T/stderr")"
expect_in "$T/stderr" "err: $T/work"
[ "$(cat "$T/work/out.txt")" = written ] || fail "a file written inside is not seen outside"
[ -z "$(qemus)" ] || fail "QEMU still runs after a normal exit"

# 2. A hanging command is stopped at the timeout: status 124, no QEMU left.
st=0
"$KVMHOST" -t 40 -q -name -q "$tag" -- sleep 100000 >"$T/hang.out" 2>&1 || st=$?
[ "$st" = 124 ] || fail "status $st after the timeout, want 124: $(cat "$T/hang.out")"
expect_in "$T/hang.out" "timed out after 40 s"
[ -z "$(qemus)" ] || fail "QEMU still runs after the timeout"

# 3. A host whose kernel panics (as it does on a lockup) is reported as the
# host's failure (125), and with --retries the command runs again in a fresh
# host: the first run crashes the host, the second finds its marker.
cd "$T/work"
crash='[ -e crashed ] && { echo second run; exit 3; }; touch crashed; sync; echo c >/proc/sysrq-trigger; sleep 100'
st=0
"$KVMHOST" -q -name -q "$tag" -- bash -c "$crash" >"$T/panic.out" 2>&1 || st=$?
[ "$st" = 125 ] || fail "status $st after a host panic, want 125: $(cat "$T/panic.out")"
expect_in "$T/panic.out" "Kernel panic"
rm -f crashed
st=0
"$KVMHOST" -r 1 -q -name -q "$tag" -- bash -c "$crash" >"$T/retry.out" 2>&1 || st=$?
cd - >/dev/null
[ "$st" = 3 ] || fail "status $st with --retries 1, want 3: $(cat "$T/retry.out")"
expect_in "$T/retry.out" "kernel panicked (attempt 1 of 2)"
expect_in "$T/retry.out" "second run"
[ -z "$(qemus)" ] || fail "QEMU still runs after a host panic"
# A host that goes silent (its heartbeat stopped, as in a wedged kernel) is
# stopped after --beat seconds and the command runs again in a fresh host.
cd "$T/work"
rm -f crashed
silent='[ -e crashed ] && { echo second run; exit 4; }; touch crashed; kill -STOP $(cat /run/kvmhost-beat.pid); exec sleep 100000'
st=0
"$KVMHOST" -r 1 -b 15 -q -name -q "$tag" -- bash -c "$silent" >"$T/silent.out" 2>&1 || st=$?
cd - >/dev/null
[ "$st" = 4 ] || fail "status $st after a silent host with --retries 1, want 4: $(cat "$T/silent.out")"
expect_in "$T/silent.out" "went silent (no heartbeat for 15 s) (attempt 1 of 2)"
expect_in "$T/silent.out" "second run"
[ -z "$(qemus)" ] || fail "QEMU still runs after a silent host"

# A command that fails after a nested guest triple-faulted shows KVM's
# record and the guest's page tables checked in its RAM, and runs again in a
# fresh host; one that passes is not run again.
cd "$T/work"
rm -f tripled
cat >tf.ini <<INI
[vm]
memory = 32M
kernel = $TF_GUEST
[device com1]
plugin = serial
input = none
INI
tf="[ -e tripled ] && { echo second run; exit 5; }; touch tripled; sync; $MODVMM run tf.ini; exit 1"
st=0
"$KVMHOST" -r 1 -q -name -q "$tag" -- bash -c "$tf" >"$T/tf.out" 2>&1 || st=$?
[ "$st" = 5 ] || fail "status $st after a failed command with a triple fault and --retries 1, want 5: $(cat "$T/tf.out")"
expect_in "$T/tf.out" "kvmhost: a nested guest shut down (triple fault)"
expect_in "$T/tf.out" "reason shutdown"
expect_in "$T/tf.out" "failed (status 1) after a nested guest triple-faulted (attempt 1 of 2)"
# modvmm left the guest's RAM ($MODVMM_FAULT_DUMP) and kvmhost compared the
# guest's page tables in it with its ELF file: this guest never touches them
expect_in "$T/tf.out" "guest RAM written to"
expect_in "$T/tf.out" "(guest RAM at the failure), its page tables against $TF_GUEST"
grep -q "pagetables-check: the page tables at 0x[0-9a-f]* are intact" "$T/tf.out" ||
	fail "the triple-faulted guest's page tables were not found intact: $(cat "$T/tf.out")"
expect_in "$T/tf.out" "second run"
st=0
"$KVMHOST" -r 1 -q -name -q "$tag" -- bash -c "$MODVMM run tf.ini; echo ran; exit 0" >"$T/tf0.out" 2>&1 || st=$?
cd - >/dev/null
[ "$st" = 0 ] || fail "status $st after a passing command with a triple fault, want 0: $(cat "$T/tf0.out")"
[ "$(grep -c '^ran$' "$T/tf0.out")" = 1 ] || fail "a passing command was run again: $(cat "$T/tf0.out")"
expect_in "$T/tf0.out" "kvmhost: a nested guest shut down (triple fault)"
[ -z "$(qemus)" ] || fail "QEMU still runs after the triple-fault runs"
! grep -q "state became the KVM host's" "$T/tf.out" "$T/tf0.out" ||
	fail "a triple fault was taken for a lost guest state: $(cat "$T/tf.out")"

# A nested guest that takes a nested page fault with its RIP in the KVM host's
# own VMRUN code (kvm_amd's __svm_vcpu_run) and then spins, as one whose state
# QEMU's TCG replaced with the host's does: the host's watcher records it and
# stops that modvmm with SIGTERM at once, and the failed command runs again
# in a fresh host.
cd "$T/work"
rm -f npfed
cat >npf.sh <<'SH'
[ -e npfed ] && { echo second run; exit 5; }
touch npfed; sync
at=$(sed -n 's/^\([0-9a-f]*\) [tT] __svm_vcpu_run[[:space:]].*/\1/p' /proc/kallsyms | head -n 1)
[ -n "$at" ] || { echo "no __svm_vcpu_run in /proc/kallsyms"; exit 3; }
printf '[vm]\nmemory = 32M\nkernel = %s\ncmdline = at=0x%x\n[device com1]\nplugin = serial\ninput = none\n' \
	"$NPF_GUEST" $((0x$at + 0x40)) >npf.ini
st=0
timeout "$NPF_SECS" "$MODVMM" -v run npf.ini || st=$?
echo "modvmm status $st"
exit 1
SH
st=0
NPF_GUEST=$NPF_GUEST NPF_SECS=$(scaled 120) MODVMM=$MODVMM \
	"$KVMHOST" -r 1 -q -name -q "$tag" -- bash npf.sh >"$T/npf.out" 2>&1 || st=$?
cd - >/dev/null
[ "$st" = 5 ] || fail "status $st after a guest's nested page fault in VMRUN code and --retries 1, want 5: $(cat "$T/npf.out")"
at=$(sed -n 's/.*calling 0x\([0-9a-f]*\) .*/\1/p' "$T/npf.out" | head -n 1)
[ -n "$at" ] || fail "the npf-at guest did not print where it calls: $(cat "$T/npf.out")"
expect_in "$T/npf.out" "kvmhost: a nested guest's saved state became the KVM host's own"
grep -q "kvm_exit: .*reason npf rip 0x$at " "$T/npf.out" ||
	fail "no kvm_exit record of the nested page fault at RIP 0x$at: $(cat "$T/npf.out")"
expect_in "$T/npf.out" "terminating on signal 15"
expect_in "$T/npf.out" "failed (status 1) after a nested guest's state became the KVM host's (attempt 1 of 2)"
expect_in "$T/npf.out" "second run"
[ -z "$(qemus)" ] || fail "QEMU still runs after the nested-page-fault runs"

# 4. SIGINT (Ctrl-C) and SIGKILL while the command runs: no QEMU left.
set -m   # job control: a background job's SIGINT is not ignored
for sig in INT KILL; do
	rm -f "$T/fifo" && mkfifo "$T/fifo"
	"$KVMHOST" -q -name -q "$tag" -- bash -c 'echo running; exec sleep 100000' >"$T/fifo" 2>"$T/$sig.err" &
	kh=$!
	exec 3<"$T/fifo"
	IFS= read -r -t "$(scaled 60)" line <&3 || fail "the command did not start: $(cat "$T/$sig.err")"
	[ "$line" = running ] || fail "read '$line'"
	q=$(qemus)
	[ -n "$q" ] || fail "no QEMU found while the command runs"
	kill -$sig "$kh"
	wait "$kh" 2>/dev/null
	for p in $q; do gone "$p"; done
	exec 3<&-
	[ -z "$(qemus)" ] || fail "QEMU still runs after SIG$sig"
done
set +m

# 5. Bad options are refused before anything boots.
st=0
"$KVMHOST" --cpus x -- true 2>"$T/bad" || st=$?
[ "$st" = 125 ] && grep -q -- "--cpus wants a positive number" "$T/bad" || fail "bad --cpus: status $st, $(cat "$T/bad")"
echo "ok: status, output, folder, environment and devices come back; timeout, a host panic or silence (retried), a failed command after a triple fault or a nested page fault in VMRUN code (retried), SIGINT and SIGKILL leave no QEMU"
