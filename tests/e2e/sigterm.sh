#!/bin/bash
# SIGTERM while the guest spins at CPL3 stops the VM cleanly: exit 0, no vCPU left.
# usage: sigterm.sh MODVMM spin.elf
. "$(dirname "$0")/lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2")
need_kvm
basic_ini "$T/vm.ini" "$GUEST" "vcpus = 2"
for sig in TERM INT; do
	mkfifo "$T/fifo"
	"$MODVMM" run "$T/vm.ini" >"$T/fifo" 2>"$T/err" &
	pid=$!
	exec 3<"$T/fifo"
	seen=
	# block on the guest's output until it says it spins (bounded by read -t)
	while IFS= read -r -t "$(scaled 60)" line <&3; do
		case $line in *spinning*) seen=1; break ;; esac
	done
	[ -n "$seen" ] || { kill -9 $pid; fail "the guest never said it was spinning"; }
	kill -$sig $pid
	status=0
	wait $pid || status=$?
	exec 3<&-
	rm -f "$T/fifo"
	[ "$status" = 0 ] || fail "SIG$sig: exit status $status, expected 0 (stderr: $(cat "$T/err"))"
	expect_in "$T/err" "terminating on signal"
done
echo "ok: SIGTERM and SIGINT stop a spinning guest with status 0"
