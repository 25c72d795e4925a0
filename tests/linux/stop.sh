#!/bin/bash
# `modvmm stop` of a Linux guest: the ACPI power button (a Generic Event
# Device notifying PNP0C0C), which the guest's button driver turns into an
# input event; the initramfs powers off on it (tests/linux/init).  modvmm
# exits 0 after the guest's own power-off, not the hard stop.  QEMU's
# reference: system_powerdown on its monitor, the same guest.
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
