#!/bin/bash
# The Linux 64-bit boot protocol with a synthetic bzImage (tests/guest/bzimage-stub):
# the stub checks boot_params, cmdline, e820, initrd and ACPI from inside the guest
# and exits with ok=N; its e820 lines must equal the map modvmm -v logs; an ACPI
# power-off (S5) ends the VM with status 0; broken images and an initrd too big
# are refused by `modvmm check` with FILE:LINE.
# usage: linux-stub.sh MODVMM bzimage-stub.bin
. "$(dirname "$0")/lib.sh"
MODVMM=$(realpath "$1") STUB=$(realpath "$2")
need_kvm

head -c 16384 /dev/urandom >"$T/initrd.img"
fnv=$("$PYTHON" -c '
import sys
h = 2166136261
for b in open(sys.argv[1], "rb").read():
    h = ((h ^ b) * 16777619) & 0xffffffff
print("%08x" % h)' "$T/initrd.img")

# vm_ini MEMORY KERNEL [EXTRA]: [vm] on line 1, memory on 2, kernel on 3, EXTRA
# from 4; COM1 and debug-exit.
vm_ini() {
	cat >"$T/vm.ini" <<INI
[vm]
memory = $1
kernel = $2
${3:-}
[device com1]
plugin = serial
input = none
[device exit]
plugin = debug-exit
INI
}

# stub_vm MEMORY VCPUS RAM_KIB [EXTRA CMDLINE]: boot the stub with the initrd.
stub_vm() {
	vm_ini "$1" "$STUB" "vcpus = $2
initrd = $T/initrd.img
cmdline = console=ttyS0 ram_kib=$3 initrd_size=16384 cpus=$2 ${4:-ok=42}"
	status=0
	timeout 120 "$MODVMM" -v run "$T/vm.ini" >"$T/out" 2>"$T/err" || status=$?
	[ "$status" != 124 ] || fail "modvmm timed out; stderr: $(cat "$T/err")"
}

# The guest's e820 lines and modvmm's must be the same ranges and types.
same_e820() {
	sed -n 's/^stub-e820: //p' "$T/out" >"$T/guest-e820"
	sed -n 's/^modvmm: info: e820: //p' "$T/err" >"$T/vmm-e820"
	[ -s "$T/vmm-e820" ] || fail "modvmm -v printed no e820 map: $(cat "$T/err")"
	diff -u "$T/vmm-e820" "$T/guest-e820" >&2 || fail "the guest's e820 map differs from modvmm's"
	[ "$(wc -l <"$T/guest-e820")" = "$1" ] || fail "expected $1 e820 entries"
}

# 64 MiB, 2 vCPUs: usable RAM is all but the 384 KiB BIOS/ACPI area.
stub_vm 64M 2 $((64 * 1024 - 384))
[ "$status" = 42 ] || fail "exit status $status, expected 42; guest said: $(cat "$T/out")"
expect_in "$T/out" "bzimage stub: all checks passed"
expect_in "$T/out" "cmdline: console=ttyS0 ram_kib=65152 initrd_size=16384 cpus=2 ok=42"
expect_in "$T/out" "initrd: 16384 bytes at 0x3ffc000 fnv1a32=$fnv"
expect_in "$T/out" "acpi: rsdp 0xe0000, 2 cpus, sleep control port 0x600, S5 type 5"
same_e820 4

# RAM above 3 GiB continues at 4 GiB: five e820 entries, 4 vCPUs in the MADT.
stub_vm 3200M 4 $((3200 * 1024 - 384))
[ "$status" = 42 ] || fail "3200M: exit status $status, expected 42; guest said: $(cat "$T/out")"
expect_in "$T/out" "[mem 0x0000000100000000-0x0000000107ffffff] usable"
expect_in "$T/out" "acpi: rsdp 0xe0000, 4 cpus"
same_e820 5

# Power-off through the FADT sleep control register with \_S5's type: status 0.
stub_vm 64M 1 $((64 * 1024 - 384)) poweroff=acpi
[ "$status" = 0 ] || fail "ACPI power-off: exit status $status, expected 0; guest said: $(cat "$T/out")"
expect_in "$T/out" "powering off through ACPI"
expect_in "$T/err" "guest powered off through ACPI (S5)"

# Refusals at `modvmm check`, at the line of the key at fault.
# patch FILE OFFSET BYTES...: overwrite bytes (given as \xNN) at OFFSET.
patch() {
	printf "$3" | dd of="$1" bs=1 seek=$(($2)) conv=notrunc status=none
}
refused() {
	status=0
	"$MODVMM" check "$T/vm.ini" >"$T/out" 2>"$T/err" || status=$?
	[ "$status" = 241 ] || fail "check accepted a bad setup ($1); status $status"
	expect_in "$T/err" "$T/vm.ini:$2: "
	expect_in "$T/err" "$1"
}
cp "$STUB" "$T/old.bin" && patch "$T/old.bin" 0x206 '\x0b\x02'
vm_ini 64M "$T/old.bin"
refused "uses Linux boot protocol 2.11; modvmm needs 2.12 or newer" 3
cp "$STUB" "$T/no64.bin" && patch "$T/no64.bin" 0x236 '\x00\x00'
vm_ini 64M "$T/no64.bin"
refused "has no 64-bit entry point (xloadflags 0x0 lacks XLF_KERNEL_64)" 3
head -c 2000 "$STUB" >"$T/short.bin"
vm_ini 64M "$T/short.bin"
refused "is truncated: 2000 bytes" 3
truncate -s 40M "$T/big.img"
vm_ini 32M "$STUB" "initrd = $T/big.img"
refused "initrd $T/big.img (41943040 bytes) does not fit in guest RAM" 4
vm_ini 16M "$STUB"
refused "needs 0x7000 bytes (init_size) from its load address 0x1000000" 3
echo "ok: the bzImage stub boots and checks its boot_params, e820, initrd and ACPI; ACPI power-off; refusals"
