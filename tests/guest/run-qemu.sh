#!/bin/bash
# Runs a test guest under QEMU/KVM with the same conventions modvmm uses, so the
# two can be compared side by side.
#
# usage: run-qemu.sh GUEST.elf [extra qemu args...]
#   e.g. run-qemu.sh hello.elf -append "exit=3"
#        run-qemu.sh smp.elf -smp 4 -append ncpus=4
#
# Serial (COM1) goes to stdout; the 0xe9 debug console goes to $DEBUGCON if set,
# else it is copied to stderr when QEMU ends.  Environment: QEMU (binary),
# MEM (default 64), TIMEOUT in seconds (default 60).
#
# Exit status, mapped to what `modvmm run` reports:
#   N    the guest wrote N to the debug-exit port 0x501 (QEMU exits 2N+1)
#   2    QEMU stopped without the exit port: triple fault or reset (-no-reboot)
#   124  timeout
#   125  QEMU itself failed (bad arguments, no KVM, ...)
set -u
[ $# -ge 1 ] || { sed -n '2,18s/^# \{0,1\}//p' "$0" >&2; exit 125; }
guest=$1
shift
[ -r "$guest" ] || { echo "run-qemu.sh: cannot read $guest" >&2; exit 125; }

dc=${DEBUGCON:-}
tmp=
if [ -z "$dc" ]; then
	tmp=$(mktemp /tmp/run-qemu-debugcon.XXXXXX)
	dc=$tmp
fi

rc=0
timeout "${TIMEOUT:-60}" "${QEMU:-qemu-system-x86_64}" \
	-accel kvm -cpu host -m "${MEM:-64}" \
	-nodefaults -display none -no-reboot \
	-serial stdio -debugcon "file:$dc" \
	-device isa-debug-exit,iobase=0x501,iosize=1 \
	-kernel "$guest" "$@" </dev/null || rc=$?

if [ -n "$tmp" ]; then
	cat "$tmp" >&2
	rm -f "$tmp"
fi

case $rc in
0) echo "run-qemu.sh: guest stopped without writing the exit port (triple fault or reset)" >&2
   exit 2 ;;
124) echo "run-qemu.sh: timed out" >&2
   exit 124 ;;
esac
# isa-debug-exit: QEMU exits (status << 1) | 1.  QEMU's own errors are exit 1,
# indistinguishable from a guest status of 0 except by the error message.
if [ $((rc & 1)) = 1 ]; then
	exit $((rc >> 1))
fi
echo "run-qemu.sh: qemu exited $rc" >&2
exit 125
