#!/bin/bash
# Debian's cloud kernel, uncompressed from its bzImage (an ELF with the PVH entry
# note), booted through PVH with 2 vCPUs: the kernel prints its banner, our
# command line and the e820 map it was given, which must be exactly modvmm's;
# then it parses our ACPI tables and finds both CPUs in the MADT.  Guest ring 0
# is emulated here, so the test stops the VM with SIGTERM after that.
# usage: linux-pvh.sh MODVMM CACHE_DIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/debian-kernel.sh"
MODVMM=$(realpath "$1")
need_kvm
debian_kernel "$2"

cmdline="console=ttyS0 earlyprintk=serial,ttyS0,115200 nokaslr"
cat >"$T/vm.ini" <<INI
[vm]
memory = 512M
vcpus = 2
kernel = $VMLINUX
cmdline = $cmdline
[device com1]
plugin = serial
input = none
INI
start_vm "$T/vm.ini"
# "printk: bootconsole" follows the e820 map; the ACPI and SMP lines come later.
wait_for 60 "Linux version " "Command line: $cmdline" "BIOS-e820: " "printk: bootconsole" \
	"ACPI: RSDP 0x00000000000E0000 000024 (v02 MODVMM)" "ACPI: FACP " "ACPI: APIC " "ACPI: DSDT " \
	"smpboot: Allowing 2 CPUs, 0 hotplug CPUs" || {
	kill -9 $pid
	fail "the kernel did not get there within 60 s; serial: $(cat "$T/out"); stderr: $(tail "$T/err")"
}
stop_vm

sed -n 's/^.*BIOS-e820: //p' "$T/out" >"$T/guest-e820"
sed -n 's/^modvmm: info: e820: //p' "$T/err" >"$T/vmm-e820"
[ -s "$T/vmm-e820" ] || fail "modvmm -v printed no e820 map"
diff -u "$T/vmm-e820" "$T/guest-e820" >&2 || fail "the kernel's e820 map differs from the one modvmm gave"
echo "ok: $(basename "$(dirname "$VMLINUX")") through PVH: banner, cmdline, $(wc -l <"$T/guest-e820") e820 ranges as given, ACPI tables, 2 CPUs after ${SECONDS}s"
