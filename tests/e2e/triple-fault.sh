#!/bin/bash
# A guest that triple-faults stops the VM: non-zero exit and a register dump.
# usage: triple-fault.sh MODVMM triple-fault.elf
. "$(dirname "$0")/lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2")
need_kvm
basic_ini "$T/vm.ini" "$GUEST"
run_vm "$T/vm.ini"
expect_in "$T/out" "about to triple fault"
[ "$status" = 243 ] || fail "exit status $status, expected 243 (VM failure)"
expect_in "$T/err" "triple fault"
expect_in "$T/err" "vcpu0 registers:"
grep -Eq 'rip [0-9a-f]{16}' "$T/err" || fail "no rip in the register dump"
echo "ok: triple fault reported with registers, exit 243"
