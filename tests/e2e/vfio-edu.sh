#!/bin/bash
# PCI passthrough with the vfio-pci plugin: QEMU's edu device (1234:11e8) of the
# KVM host, behind its emulated IOMMU (meson passes kvmhost `-device
# intel-iommu,intremap=on,caching-mode=on -device edu` and intel_iommu=on).
# Refusals first (edu bound to no driver; a malformed and a missing address; a
# group that is not viable; no permission on /dev/vfio/N; a pci-testdev whose
# 128 GiB BAR no guest window holds), then edu is bound
# to vfio-pci here and the vfio-edu guest drives it: ID, factorial, DMA both
# ways between guest RAM and the device, MSI completions, the BAR moved and all
# again, bus mastering off in COMMAND (no DMA, no MSI: the bit reaches the
# device) and on, junk written over the configuration space and a DMA aimed outside
# guest RAM (the IOMMU must fault it) and all again, INTx; with an e1000e of
# the KVM host passed through beside it, MSI-X (a vector, a masked one pending
# in the PBA and delivered on unmask) and its MSI-X BAR mapped directly around
# the table and PBA (32 accesses there, none trapped), and its expansion ROM
# (rom = on: the guest's CRC-32 of the ROM BAR equals that of the ROM the KVM
# host reads from sysfs; rom = on refused for edu, which has none); and a
# virtio-net behind a PCIe root port with its ROM hidden (rom = off) and reset
# by the guest with FLR, the guest's view reset with it (COMMAND, BARs, MSI-X)
# and programmed again (junk over the configuration space of both first, then
# the checks).  Then a VM killed
# with -9 in the middle and a fresh one that gets the device back and passes.
# Last, the reference: the same guest under QEMU's own -device vfio-pci with
# the same edu passes the same checks (qemu=1: the old BAR address is checked
# not to read the ID register rather than to read all-ones, modvmm's own).
# usage: vfio-edu.sh MODVMM vfio-edu.elf
. "$(dirname "$0")/lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2")
need_kvm
need_root

# the edu alone in its IOMMU group (on the root bus); two more share a group
# behind a PCIe-to-PCI bridge (for the viability refusal)
addr= shared=()
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ] || continue
	if [ "$(ls "$d/iommu_group/devices" 2>/dev/null | wc -l)" = 1 ]; then
		[ -n "$addr" ] || addr=$(basename "$d")
	else
		shared+=("$(basename "$d")")
	fi
done
if [ -z "$addr" ]; then
	# natively (a machine with /dev/kvm) there is no edu to pass through
	[ -n "${MODVMM_IN_KVMHOST:-}" ] || { echo "SKIP: no QEMU edu device (1234:11e8) on this host" >&2; exit 77; }
	fail "no edu device (1234:11e8) in the KVM host: kvmhost was not given -device edu"
fi
SYS=/sys/bus/pci/devices/$addr
[ -e "$SYS/iommu_group" ] || fail "$addr has no IOMMU group: no IOMMU in the KVM host"
echo "ok: edu at $addr, IOMMU group $(basename "$(readlink "$SYS/iommu_group")")"

vm_ini() { # FILE HOST
	basic_ini "$1" "$GUEST" "name = vfio-e2e-$$"
	cat >>"$1" <<INI

[device edu]
plugin = vfio-pci
host = $2
INI
}

# expect_refused HOST STATUS MESSAGE
expect_refused() {
	vm_ini "$T/bad.ini" "$1"
	run_vm "$T/bad.ini"
	[ "$status" = "$2" ] || fail "host = $1: exit status $status, expected $2: $(cat "$T/err")"
	expect_in "$T/err" "$3"
	echo "ok: host = $1 refused: $(grep -F -- "$3" "$T/err" | head -1)"
}

# pci_find VENDOR DEVICE: the first function of the KVM host with those ids
pci_find() {
	local d
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = "$1" ] && [ "$(cat "$d/device")" = "$2" ] && { basename "$d"; return; }
	done
}

# bind_vfio ADDR: from its driver (if any) to vfio-pci
bind_vfio() {
	local sys=/sys/bus/pci/devices/$1
	[ ! -e "$sys/driver" ] || echo "$1" >"$sys/driver/unbind"
	echo vfio-pci >"$sys/driver_override"
	echo "$1" >/sys/bus/pci/drivers_probe
	[ "$(basename "$(readlink "$sys/driver")")" = vfio-pci ] || fail "$1 did not bind to vfio-pci"
}

# 1. refusals
drv=$(basename "$(readlink "$SYS/driver" 2>/dev/null)" 2>/dev/null)
[ -z "$drv" ] || echo "$addr" >"$SYS/driver/unbind" || fail "cannot unbind $addr from $drv"
expect_refused "$addr" 242 "host $addr: not bound to vfio-pci (to no driver): bind it first"
expect_refused "0000:00:1f.7" 242 "host 0000:00:1f.7: no such PCI function on this host"
vm_ini "$T/bad.ini" "00:03.0"
status=0
"$MODVMM" check "$T/bad.ini" >"$T/out" 2>"$T/err" || status=$?
[ "$status" = 241 ] || fail "check with host = 00:03.0: status $status, expected 241"
expect_in "$T/err" "bad.ini:$(grep -n '^host' "$T/bad.ini" | cut -d: -f1): host = 00:03.0: want a PCI address DDDD:BB:DD.F"
echo "ok: check refuses host = 00:03.0 at its line"

# 2. bind to vfio-pci, as README "vfio-pci" says
echo vfio-pci >"$SYS/driver_override"
echo "$addr" >/sys/bus/pci/drivers_probe
[ "$(basename "$(readlink "$SYS/driver")")" = vfio-pci ] || fail "$addr did not bind to vfio-pci"
echo "ok: $addr bound to vfio-pci"

# 2-. rom = on for a function without an expansion ROM (edu has none)
vm_ini "$T/bad.ini" "$addr"
echo "rom = on" >>"$T/bad.ini"
run_vm "$T/bad.ini"
[ "$status" = 242 ] || fail "rom = on for edu: exit status $status, expected 242: $(cat "$T/err")"
expect_in "$T/err" "host $addr: rom = on, but the function has no expansion ROM (set rom = off)"
echo "ok: rom = on refused for edu: $(grep -F "rom = on" "$T/err")"

# 2a. a group that is not viable: the other edu of the group on a host driver
[ ${#shared[@]} -ge 2 ] || fail "no two edu devices sharing an IOMMU group (behind a PCIe-to-PCI bridge): ${shared[*]:-none}"
a=${shared[0]} b=${shared[1]}
for f in "$a=vfio-pci" "$b=uio_pci_generic"; do
	echo "${f#*=}" >"/sys/bus/pci/devices/${f%%=*}/driver_override"
	echo "${f%%=*}" >/sys/bus/pci/drivers_probe
	[ "$(basename "$(readlink "/sys/bus/pci/devices/${f%%=*}/driver")")" = "${f#*=}" ] || fail "${f%%=*} did not bind to ${f#*=}"
done
expect_refused "$a" 242 "is not viable: every device of the group must be bound to vfio-pci or to no driver; still bound to a host driver: $b (uio_pci_generic)"

# 2b. no permission on /dev/vfio/N: modvmm as root without CAP_DAC_OVERRIDE
grp=$(basename "$(readlink "$SYS/iommu_group")")
chmod 000 "/dev/vfio/$grp"
vm_ini "$T/bad.ini" "$addr"
status=0
setpriv --bounding-set=-dac_override,-dac_read_search --inh-caps=-dac_override,-dac_read_search \
	"$MODVMM" run "$T/bad.ini" >"$T/out" 2>"$T/err" || status=$?
chmod 600 "/dev/vfio/$grp"
[ "$status" = 242 ] || fail "no permission on /dev/vfio/$grp: exit status $status, expected 242: $(cat "$T/err")"
expect_in "$T/err" "host $addr: /dev/vfio/$grp: Permission denied (no permission: run as root or give this user the file)"
echo "ok: no permission on /dev/vfio/$grp refused: $(grep -F "Permission denied" "$T/err")"

# 2c. a BAR the guest's windows cannot hold: QEMU's pci-testdev (1b36:0005)
# with a 128 GiB 64-bit BAR2 (membar=128G; the MMIO64 window is 64 GiB)
big=$(pci_find 0x1b36 0x0005)
[ -n "$big" ] || fail "no pci-testdev (1b36:0005) in the KVM host: kvmhost was not given -device pci-testdev,membar=128G"
bind_vfio "$big"
expect_refused "$big" 242 "host $big: BAR2 (64-bit memory, 0x2000000000 bytes) does not fit the guest's MMIO64 window"

# 3. the guest drives edu, and an e1000e's MSI-X (also passed through)
nic=$(pci_find 0x8086 0x10d3)
[ -n "$nic" ] || fail "no e1000e (8086:10d3) in the KVM host"
bind_vfio "$nic"
# and a virtio-net behind a PCIe root port (1af4:1041, FLR capable)
vnet=$(pci_find 0x1af4 0x1041)
[ -n "$vnet" ] || fail "no virtio-net (1af4:1041) in the KVM host: kvmhost was not given -device virtio-net-pci behind a pcie-root-port"
bind_vfio "$vnet"
echo "ok: $vnet (virtio-net) bound to vfio-pci, reset methods: $(cat "/sys/bus/pci/devices/$vnet/reset_method" 2>/dev/null)"
vm_ini "$T/vm.ini" "$addr"
cat >>"$T/vm.ini" <<INI

[device nic]
plugin = vfio-pci
host = $nic
rom = on

[device vnet]
plugin = vfio-pci
host = $vnet
INI
run_edu() {
	status=0
	timeout 300 "$MODVMM" -v run "$T/vm.ini" >"$T/out" 2>"$T/err" || status=$?
	if [ "$status" != 0 ] || ! grep -qx "vfio-edu guest: all checks passed" "$T/out"; then
		cat "$T/out" "$T/err" >&2
		fail "$1: the vfio-edu guest failed (exit status $status)"
	fi
	echo "ok: $1: $(grep -c '^ok:' "$T/out") guest checks passed"
}
# the e1000e's ROM as the KVM host reads it (sysfs gives the images, VFIO
# reads the rest of the ROM BAR as 0xff: padded the same), and its CRC-32
romsys=/sys/bus/pci/devices/$nic/rom
echo 1 >"$romsys"
cat "$romsys" >"$T/rom.bin"
echo 0 >"$romsys"
romsize=$(stat -c %s "$romsys") romlen=$(stat -c %s "$T/rom.bin")
[ "$romlen" -gt 0 ] && [ "$romlen" -le "$romsize" ] || fail "$nic: sysfs gave $romlen bytes of a $romsize-byte ROM BAR"
head -c $((romsize - romlen)) /dev/zero | tr '\0' '\377' >>"$T/rom.bin"
romcrc=$(gzip -c "$T/rom.bin" | tail -c 8 | od -An -tx4 -N4 | tr -d ' ')
echo "ok: $nic: expansion ROM $romlen bytes in a $romsize-byte BAR (sysfs), crc32 0x$romcrc"
dmesg -c >/dev/null 2>&1
run_edu "first VM"
grep '^ok:' "$T/out"
expect_in "$T/out" "DMA aimed at 0x6000000 done"
expect_in "$T/out" "ok: bus master off: no byte reached guest RAM (0 changed)"
dmesg | grep -i "fault addr 0x6000000" || fail "no IOMMU fault at 0x6000000 in the host's log: $(dmesg | tail -20)"
echo "ok: the IOMMU stopped the DMA aimed outside guest RAM, and the device kept working"
grep -E "PCI 00:0[0-9a-f].0 \[edu\] 1234:11e8 class 00.ff.00" "$T/err" || fail "no edu function in the topology: $(cat "$T/err")"
grep -E "PCI +BAR0 mem32 +0x[0-9a-f]+ size 0x100000 host buffer" "$T/err" || fail "BAR0 is not mapped directly: $(cat "$T/err")"
grep -E "PCI 00:0[0-9a-f].0 \[nic\] 8086:10d3 .*MSI-X 5 vectors" "$T/err" || fail "no e1000e with MSI-X in the topology: $(cat "$T/err")"
expect_in "$T/out" "ok: e1000e: MSI-X vector 4 delivered on unmask"
# split MSI-X BAR: BAR3 (16 KiB: table at 0, PBA at 0x2000) mapped directly
# around the two trapped pages, and the guest's 32 accesses there never exited
expect_in "$T/out" "ok: e1000e: 32 accesses to BAR3 outside the MSI-X table and PBA"
expect_in "$T/err" "host $nic: BAR3: 0 reads and 0 writes trapped (besides the MSI-X table and PBA; the rest is mapped directly)"
grep -E "PCI +BAR3 mem(32|64)( pref)? +0x[0-9a-f]+ size 0x4000 trapped, MSI-X, direct 0x1000-0x1fff 0x3000-0x3fff$" "$T/err" ||
	fail "e1000e's BAR3 is not split around the MSI-X table and PBA: $(grep 'BAR3' "$T/err")"
echo "ok: $(grep -F "host $nic: BAR3:" "$T/err")"
# the e1000e's ROM in the guest: the same bytes as sysfs gives the KVM host
grep -E "PCI +ROM +mem32 +0x[0-9a-f]+ \(not mapped: decode off\) size 0x$(printf %x "$romsize") trapped$" "$T/err" ||
	fail "no disabled ROM of $romsize bytes for the e1000e in the topology: $(grep -F ' ROM ' "$T/err")"
expect_in "$T/out" "ok: e1000e: ROM signature 0x55 0xAA"
expect_in "$T/out" "ok: e1000e: a write to the ROM is dropped"
expect_in "$T/out" "e1000e: expansion ROM $romsize bytes, crc32 0x$romcrc"
echo "ok: the guest read the e1000e's ROM as the host does: $(grep -F "e1000e: expansion ROM" "$T/out")"
expect_in "$T/out" "ok: virtio-net: rom = off: the ROM register reads 0x0 and sizes to 0x0"
# guest-initiated Function Level Reset of the virtio-net
expect_in "$T/out" "ok: virtio-net: FLR reset the device (status 0x0, queue select 0)"
expect_in "$T/out" "ok: virtio-net: driven again after FLR"
expect_in "$T/out" "ok: virtio-net: COMMAND reads 0x0 after FLR"
expect_in "$T/out" "ok: virtio-net: every BAR's address bits read 0 after FLR (0 do not)"
expect_in "$T/out" "ok: virtio-net: BAR4 no longer decodes after FLR (reads 0xffffffff)"
expect_in "$T/out" "ok: virtio-net: MSI-X enable and function mask clear after FLR"
# one FLR by check_flr, and those the junk over its configuration set by chance
grep -E "host $vnet: [1-9][0-9]* function level resets by the guest" "$T/err" ||
	fail "no function level reset of $vnet counted: $(grep -F "host $vnet" "$T/err")"
if grep -F "host $addr: " "$T/err" | grep -F "function level resets"; then
	fail "edu (no FLR) was given a PCI Express capability"
fi

# 4. kill -9 in the middle, then a fresh VM gets the device back
"$MODVMM" run "$T/vm.ini" >"$T/killed.out" 2>"$T/killed.err" &
pid=$!
wait_for "$T/killed.out" "edu at" 120
kill -9 "$pid"
wait "$pid" 2>/dev/null
echo "ok: a VM killed with -9 while driving edu"
run_edu "after kill -9"

# 5. the reference: the same guest under QEMU's own vfio-pci with the same
# edu of this KVM host (released by modvmm), on QEMU's default machine
# (i440fx: SeaBIOS routes edu's INTx to the IOAPIC pin of its interrupt line,
# as modvmm does).  qemu=1: the old BAR address must not read the ID register
# (QEMU reads unassigned memory as 0, not all-ones).  edu only: the e1000e
# under QEMU 7.2's vfio-pci in this KVM host fails (its MSI-X BAR's mmap'd
# pages cannot be DMA-mapped, "kvm run failed Bad address" on the guest's
# access there), and QEMU hides the virtio-net's PCI Express capability, so
# FLR, on a conventional bus.
dmesg -c >/dev/null 2>&1
status=0
MEM=32 TIMEOUT=$(scaled 60) bash "$(dirname "$0")/../guest/run-qemu.sh" "$GUEST" \
	-device vfio-pci,host="$addr",rombar=0 -append qemu=1 >"$T/qemu.out" 2>"$T/qemu.err" || status=$?
if [ "$status" != 0 ] || ! grep -qx "vfio-edu guest: all checks passed" "$T/qemu.out"; then
	cat "$T/qemu.out" "$T/qemu.err" >&2
	fail "QEMU -device vfio-pci (the reference): the vfio-edu guest failed (status $status)"
fi
grep '^ok:' "$T/qemu.out"
for s in "DMA aimed at 0x6000000 done" "ok: bus master off: no byte reached guest RAM (0 changed)" \
	"ok: INTx interrupt arrived" "ok: a second INTx arrived after the EOI (resample)"; do
	expect_in "$T/qemu.out" "$s"
done
dmesg | grep -i "fault addr 0x6000000" || fail "QEMU: no IOMMU fault at 0x6000000 in the host's log: $(dmesg | tail -20)"
echo "ok: QEMU's vfio-pci (the reference): $(grep -c '^ok:' "$T/qemu.out") guest checks passed, the IOMMU stopped its stray DMA too"
