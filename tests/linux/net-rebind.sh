#!/bin/bash
# Device reset by the guest's driver (tests/linux/guest/net-rebind.sh): on a
# backend that returns every frame (modvmm's loopback, QEMU's UDP socket to
# itself), traffic, then rounds of unbinding and binding the virtio_net and
# the virtio-pci drivers, traffic after each.  Under modvmm, the file
# descriptors and threads of the modvmm process are the same after the rounds
# as before them (a leak per reset would show LT_ROUNDS times); QEMU runs the
# same guest as the reference, without that count.  modvmm logs no warning
# or error throughout (a driver's reset is no fault).
# usage: net-rebind.sh MODVMM TCPX
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/initramfs.sh"
. "$(dirname "$0")/lib.sh"
lt_init "$@"
BYTES=${LT_BYTES:-$((16 << 20))}
ROUNDS=${LT_ROUNDS:-3}

# census FILE: modvmm's open files (their targets, sorted) and thread count
census() {
	local pid
	pid=$(lt_vmm_pid modvmm rebind) || fail "modvmm is not running"
	{ for f in /proc/"$pid"/fd/*; do readlink "$f"; done | sed 's/:\[[0-9]*\]$/:/' | sort | uniq -c
	  echo "threads $(ls "/proc/$pid/task" | wc -l)"; } >"$1"
}

for vmm in modvmm qemu; do
	rm -f "$T/in" && mkfifo "$T/in"
	LT_INPUT=$T/in
	if [ $vmm = modvmm ]; then
		lt_start modvmm rebind 1 "lt.test=net-rebind lt.bytes=$BYTES lt.rounds=$ROUNDS" "$LT_LOOP_MODVMM"
	else
		lt_start qemu rebind 1 "lt.test=net-rebind lt.bytes=$BYTES lt.rounds=$ROUNDS" "$(lt_loop_qemu $((20000 + $$ % 10000)))"
	fi
	exec {w}>"$T/in"
	lt_wait_line $vmm rebind "LINUXTEST: READY fds-before"
	[ $vmm = modvmm ] && census "$T/before"
	echo go >&$w
	lt_wait_line $vmm rebind "LINUXTEST: READY fds-after"
	[ $vmm = modvmm ] && census "$T/after"
	echo go >&$w
	lt_finish $vmm rebind
	if [ $vmm = modvmm ] && grep -E ": (warning|error): " "$T/rebind.modvmm.err"; then
		fail "modvmm complained during the rebinding (above)"
	fi
	exec {w}>&-
	LT_INPUT=
done
diff "$T/before" "$T/after" || fail "modvmm's open files or threads changed over $ROUNDS rounds of rebinding (before: $(tr '\n' ' ' <"$T/before"))"
echo "modvmm after $ROUNDS rounds of rebinding, as before: $(tr -s ' \n' ' ' <"$T/after")"
grep -h "queue pair" "$T/rebind.modvmm.err"
