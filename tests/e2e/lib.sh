# Shared helpers for the end-to-end tests (sourced).  Each test gets a scratch
# folder, removed on exit.  Tests needing KVM exit 77 (skip) without it.
set -u

# FAIL_LOGS: files whose last lines fail() shows (a VM's stderr, its console).
# A modvmm of this test still running when it fails is shown too (show_vmm).
fail() {
	echo "FAIL: $*" >&2
	local f
	for f in $(own_vmms); do
		show_vmm "$f"
	done
	for f in ${FAIL_LOGS:-}; do
		[ -s "$f" ] && { echo "--- the end of $f:" >&2; tail -25 "$f" >&2; }
	done
	exit 1
}

# own_vmms: the modvmm processes below this shell (at any depth: most run
# under `timeout`)
own_vmms() {
	local p q all="" kids=$$ next
	while [ -n "$kids" ]; do
		next=""
		for p in $kids; do
			for q in $(pgrep -P "$p"); do next="$next $q"; done
		done
		all="$all $next"
		kids=$next
	done
	for p in $all; do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = modvmm ] && echo "$p"
	done
	return 0
}

# show_vmm PID: where each thread of a modvmm that is still running stands
# (a vCPU thread inside KVM_RUN, or blocked in modvmm: the kernel stack says),
# then SIGTERM, so that its -v log says where the guest stood; the end of that
# log follows unless FAIL_LOGS shows it.
show_vmm() {
	local pid=$1 t err
	err=$(readlink "/proc/$pid/fd/2" 2>/dev/null) || return 0
	echo "--- modvmm $pid is still running; its threads:" >&2
	for t in /proc/"$pid"/task/*; do
		echo "  $(cat "$t/comm" 2>/dev/null): state $(cut -d' ' -f3 "$t/stat" 2>/dev/null)," \
			"wchan $(cat "$t/wchan" 2>/dev/null), syscall $(cut -d' ' -f1 "$t/syscall" 2>/dev/null)" >&2
		sed 's/^/      /' "$t/stack" >&2 2>/dev/null
	done
	kill -TERM "$pid" 2>/dev/null
	command timeout 20 tail --pid="$pid" -f /dev/null
	case " ${FAIL_LOGS:-} " in *" $err "*) return 0 ;; esac
	[ -f "$err" ] && { echo "--- the end of $err:" >&2; tail -30 "$err" >&2; }
	return 0
}

# need_kvm: skip without /dev/kvm (meson runs these tests through
# tests/kvmhost/with-kvm, which provides one); inside a KVM host, say so once,
# so that every figure a benchmark prints is read as emulated.
need_kvm() {
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || {
		echo "SKIP: /dev/kvm is missing or not accessible" >&2
		exit 77
	}
	[ -z "${MODVMM_IN_KVMHOST:-}" ] ||
		echo "note: running inside a KVM host under QEMU TCG emulation (tests/kvmhost): absolute times and rates are emulated and mean little; ratios measured in the same run still compare"
}

need_root() {
	[ "$(id -u)" = 0 ] || {
		echo "SKIP: needs root" >&2
		exit 77
	}
}

# pktgen_rx_ok PID FILE: the receiving modvmm-pktgen PID (its output in FILE)
# exits 0 within 120 s (scaled)
pktgen_rx_ok() {
	exits_within "$1" 120 || fail "pktgen rx still running: $(cat "$2")"
	wait "$1" || fail "pktgen rx: $(cat "$2")"
}

# need_tap: root and /dev/net/tun (taps in namespaces the test creates)
need_tap() {
	need_root
	[ -c /dev/net/tun ] || { echo "SKIP: no /dev/net/tun" >&2; exit 77; }
}

# MODVMM_TIME_FACTOR, set by the runner (tests/kvmhost/with-kvm: 8 inside a KVM
# host, where everything runs emulated; 1 natively), scales every time limit:
# `scaled N` is N seconds times the factor, and `timeout` below is coreutils'
# timeout(1) with its duration scaled.
TIME_FACTOR=${MODVMM_TIME_FACTOR:-1}
case $TIME_FACTOR in '' | *[!0-9]* | 0) fail "MODVMM_TIME_FACTOR wants a positive integer, not '$TIME_FACTOR'" ;; esac
scaled() {
	echo $(($1 * TIME_FACTOR))
}
timeout() {
	local d=$1
	shift
	command timeout "$(scaled "$d")" "$@"
}

# Debian's python3 (scripts/deps.sh installs it) for the small test helpers,
# not whatever `python3` is first in PATH: a version manager's shim (pyenv)
# forks a dozen processes per start, ~20 s inside an emulated KVM host.
PYTHON=/usr/bin/python3

# KEEP_T=1 keeps it for debugging; MODVMM_TEST_TMP=DIR puts it in DIR (a
# folder on the shared root is seen from outside a KVM host while it runs,
# but sockets cannot live there)
T=$(mktemp -d "${MODVMM_TEST_TMP:-/tmp}/modvmm-e2e.XXXXXX")
trap '[ -n "${KEEP_T:-}" ] || rm -rf "$T"' EXIT

# expect_in FILE STRING: FILE contains STRING (fixed string).
expect_in() {
	grep -qF -- "$2" "$1" || {
		echo "--- $1:" >&2
		cat "$1" >&2
		fail "expected '$2' in $1"
	}
}

# run_vm INI: runs modvmm, stdout in $T/out, stderr in $T/err, status in $status.
run_vm() {
	status=0
	timeout 120 "$MODVMM" run "$1" >"$T/out" 2>"$T/err" || status=$?
	[ "$status" != 124 ] || fail "modvmm run $1 timed out; stderr: $(cat "$T/err")"
}

# basic_ini FILE KERNEL [EXTRA]: a VM with COM1 (no input) and debug-exit; EXTRA
# lines go into [vm] (e.g. "vcpus = 2").
basic_ini() {
	cat >"$1" <<INI
[vm]
memory = 32M
kernel = $2
${3:-}

[device com1]
plugin = serial
input = none

[device exit]
plugin = debug-exit
INI
}

# wait_for FILE STRING [SECONDS]: block until FILE (being written by a
# background process) contains STRING; fail after SECONDS (30).
# pipe_vm_ini FILE GUEST CMDLINE PIPE DEVICE-PLUGIN [BACKEND-LINES]: basic_ini
# plus [backend p0] on pipe PIPE and one [device d0] of DEVICE-PLUGIN using it.
pipe_vm_ini() {
	basic_ini "$1" "$2" "cmdline = $3"
	cat >>"$1" <<INI

[backend p0]
plugin = pipe
name = $4
${6:-}

[device d0]
plugin = $5
backend = p0
INI
}

# wait_for FILE STRING [SECONDS [N]]: block until FILE holds N lines (default
# 1) containing STRING, at most SECONDS (default 30).
# exits_within PID SECS: true once the process PID (a job of this shell) has
# exited, false if it still runs after SECS (scaled).
exits_within() {
	timeout "$2" tail --pid="$1" -f /dev/null
}

wait_for() {
	local fd pid n want=${4:-1}
	exec {fd}< <(exec tail -F -n +1 "$1" 2>/dev/null)
	pid=$!
	n=$(timeout "${3:-30}" grep -c -m "$want" -F -- "$2" <&"$fd")
	kill "$pid" 2>/dev/null
	exec {fd}<&-
	[ "${n:-0}" -ge "$want" ] || fail "timed out waiting for $want x '$2' in $1: $(cat "$1")"
}

# vm_ok NAME PID [SECS]: the VM with output in $T/NAME.{out,err} exits 0
# within SECS (scaled; default 120) and its guest printed no FAIL.
vm_ok() {
	local st=0
	exits_within "$2" "${3:-120}" || {
		cat "$T/$1.out" "$T/$1.err" >&2
		fail "$1: still running after $(scaled "${3:-120}") s"
	}
	wait "$2" || st=$?
	if [ "$st" != 0 ] || grep -q "FAIL" "$T/$1.out"; then
		cat "$T/$1.out" "$T/$1.err" >&2
		fail "$1: guest failed (status $st)"
	fi
}

# kill9 PID: SIGKILL a background job and reap it.
kill9() {
	kill -9 "$1"
	wait "$1" 2>/dev/null || true
}
