#!/bin/bash
# The hello guest prints on serial and the debug console, runs a loop at CPL3 with
# port I/O allowed by the TSS bitmap, and exits with the status from its cmdline.
# usage: hello.sh MODVMM GUEST.elf
. "$(dirname "$0")/lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2")
need_kvm

cat >"$T/vm.ini" <<INI
[vm]
name = e2e-hello
memory = 64M
kernel = $GUEST
cmdline = exit=42 marker=$$

[device com1]
plugin = serial
input = none

[device exit]
plugin = debug-exit
console = file
console_file = debugcon.txt
INI
run_vm "$T/vm.ini"
expect_in "$T/out" "hello from the modvmm test guest"
expect_in "$T/out" "cmdline: exit=42 marker=$$"
expect_in "$T/out" "user mode ok"
expect_in "$T/debugcon.txt" "debugcon ok"
[ "$status" = 42 ] || fail "exit status $status, expected 42 (stderr: $(cat "$T/err"))"

# the same guest with another status: the status really comes from the guest
sed -i "s/exit=42/exit=7/" "$T/vm.ini"
run_vm "$T/vm.ini"
[ "$status" = 7 ] || fail "exit status $status, expected 7"
echo "ok: $(basename "$GUEST") printed and exited with the chosen status"
