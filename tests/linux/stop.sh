#!/bin/bash
# `modvmm stop` of a Linux guest: the ACPI power button (a Generic Event
# Device notifying PNP0C0C), which the guest's button driver turns into an
# input event; the initramfs powers off on it (tests/linux/init).  modvmm
# exits 0 after the guest's own power-off, not the hard stop.  QEMU's
# reference: system_powerdown on its monitor, the same guest.  SIGTERM stops
# modvmm hard and prints the guest's interrupt state (core/vm/irqstate.c).
# usage: stop.sh MODVMM TCPX
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/initramfs.sh"
. "$(dirname "$0")/lib.sh"
lt_init "$@"
export MODVMM_RUNDIR=$T/run

# wait_off VMM: the VMM exits 0 within 60 s (scaled) after the guest said it
# powers off on the button
wait_off() {
	local st=0
	exits_within "${LT_PIDS[stop.$1]}" 60 || { lt_show "$1" stop; fail "$1 still runs 60 s after the power button"; }
	wait "${LT_PIDS[stop.$1]}" || st=$?
	grep -q "LINUXTEST: power button: powering off" "$T/stop.$1.log" || { lt_show "$1" stop; fail "the guest under $1 did not take the power button"; }
	[ "$st" = 0 ] || { lt_show "$1" stop; fail "$1 exited with $st"; }
	echo "ok: the guest under $1 powered off on the power button"
}

lt_start modvmm stop 1 "lt.test=idle"
lt_wait_line modvmm stop "LINUXTEST: READY idle"
timeout 200 "$MODVMM" stop lt-stop --timeout 120 >"$T/stop.out" 2>&1 || fail "modvmm stop: $(cat "$T/stop.out")"
expect_in "$T/stop.out" "lt-stop: stopped (power button)"
wait_off modvmm
expect_in "$T/stop.modvmm.err" "power button pressed"
! grep -q "did not power off" "$T/stop.modvmm.err" || fail "modvmm stopped the guest hard"

# SIGTERM: modvmm stops the guest hard, exits 0, and says where the guest's
# interrupts stood (what a test killing a hung guest needs to read)
lt_start modvmm term 1 "lt.test=idle"
lt_wait_line modvmm term "LINUXTEST: READY idle"
kill -TERM "$(lt_vmm_pid modvmm term)"
st=0
wait "${LT_PIDS[term.modvmm]}" || st=$?
[ "$st" = 0 ] || { lt_show modvmm term; fail "modvmm exited with $st on SIGTERM"; }
expect_in "$T/term.modvmm.err" "terminating on signal 15"
grep -q "vcpu0 at stop: rip 0x[0-9a-f]*, interrupts o[nf]*, mp_state [0-9]* ([a-z ]*), LAPIC TPR 0x[0-9a-f]*, in service: " "$T/term.modvmm.err" ||
	{ lt_show modvmm term; fail "no vCPU interrupt state after SIGTERM"; }
grep -q "vcpu0 at stop: [0-9]* exits, the last (.*) [0-9.]* s before the stop" "$T/term.modvmm.err" ||
	{ lt_show modvmm term; fail "no last-exit record after SIGTERM"; }
expect_in "$T/term.modvmm.err" "IOAPIC at stop: lines asserted 0x"
echo "ok: SIGTERM stopped the guest under modvmm, its interrupt state printed"

lt_start qemu stop 1 "lt.test=idle" "-monitor unix:$T/qemu.mon,server=on,wait=off"
lt_wait_line qemu stop "LINUXTEST: READY idle"
$PYTHON - "$T/qemu.mon" <<'PY' || fail "cannot send system_powerdown to QEMU's monitor"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"system_powerdown\n")
s.recv(4096)
PY
wait_off qemu
