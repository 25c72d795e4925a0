#!/bin/bash
# The serial plugin's interrupt reaches the CPU through the IOAPIC pin the ACPI
# MADT gives for ISA IRQ 4 (as Linux's 8250 driver would use it): transmitter
# empty and receive (loopback) interrupts.
# usage: serial-irq.sh MODVMM serial-irq.elf
. "$(dirname "$0")/lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2")
need_kvm
basic_ini "$T/vm.ini" "$GUEST"
run_vm "$T/vm.ini"
[ "$status" = 0 ] || fail "exit status $status; guest said: $(cat "$T/out"); stderr: $(cat "$T/err")"
expect_in "$T/out" "serial irq: ISA IRQ 4 on GSI 4, IOAPIC at 0xfec00000 pin 4: THRI ok, RDI ok (2 interrupts)"
echo "ok: COM1 interrupts through the IOAPIC pin the MADT describes"
