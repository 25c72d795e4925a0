#!/bin/bash
# vfio-pci on a host without an IOMMU (meson gives the KVM host QEMU's edu
# device but no intel-iommu): the function has no IOMMU group, so vfio-pci
# cannot take it, and modvmm refuses it before the guest starts, saying why,
# whatever driver the function is on.
# usage: vfio-no-iommu.sh MODVMM GUEST.elf
. "$(dirname "$0")/lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2")
need_kvm
need_root

addr=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ] && addr=$(basename "$d")
done
if [ -z "$addr" ]; then
	[ -n "${MODVMM_IN_KVMHOST:-}" ] || { echo "SKIP: no QEMU edu device (1234:11e8) on this host" >&2; exit 77; }
	fail "no edu device (1234:11e8) in the KVM host: kvmhost was not given -device edu"
fi
SYS=/sys/bus/pci/devices/$addr
[ ! -e "$SYS/iommu_group" ] || fail "$addr has IOMMU group $(basename "$(readlink "$SYS/iommu_group")"): this test wants a host without an IOMMU"
echo "ok: edu at $addr, no IOMMU group"

# vfio-pci refuses it (the kernel's own refusal, for the record)
echo vfio-pci >"$SYS/driver_override"
echo "$addr" >/sys/bus/pci/drivers_probe 2>/dev/null
[ "$(basename "$(readlink "$SYS/driver" 2>/dev/null)" 2>/dev/null)" != vfio-pci ] || fail "vfio-pci bound $addr without an IOMMU"
echo "" >"$SYS/driver_override"
echo "ok: the kernel's vfio-pci does not bind it: $(dmesg | grep -i "vfio-pci.*$addr" | tail -1)"

basic_ini "$T/vm.ini" "$GUEST" "name = vfio-no-iommu-$$"
cat >>"$T/vm.ini" <<INI

[device edu]
plugin = vfio-pci
host = $addr
INI
run_vm "$T/vm.ini"
[ "$status" = 242 ] || fail "exit status $status, expected 242: $(cat "$T/err")"
expect_in "$T/err" "host $addr: no IOMMU group: the host has no IOMMU enabled"
[ ! -s "$T/out" ] || fail "the guest ran: $(cat "$T/out")"
echo "ok: refused before the guest started: $(grep -F "no IOMMU group" "$T/err")"
