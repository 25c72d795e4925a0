#!/bin/bash
# Linux's e1000e driver on a passed-through e1000e.  The KVM host (meson
# passes kvmhost an intel-iommu and two e1000e NICs on one QEMU hub, MACs
# $LT_PT_MAC and $LT_HOST_MAC, and intel_iommu=on) keeps one e1000e on its own
# e1000e driver, in a network namespace of the test with an address; the
# other is bound to vfio-pci and given to the guest, under modvmm (`plugin =
# vfio-pci`) and then under QEMU (-device vfio-pci,host=ADDR, after modvmm
# released it): the guest's e1000e driver takes it (MAC from its EEPROM, MSI-X,
# carrier), pings the host's e1000e, sends it a checked TCP transfer and gets
# one back; the host pings the guest.  Both VMMs must pass (LT_VMMS=qemu,
# or modvmm, runs one of them).
# usage: vfio-e1000e.sh MODVMM TCPX
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/initramfs.sh"
. "$(dirname "$0")/lib.sh"
lt_init "$@"
need_root
BYTES=${LT_BYTES:-$((8 << 20))}
PT_MAC=${LT_PT_MAC:-52:54:00:e1:00:01} HOST_MAC=${LT_HOST_MAC:-52:54:00:e1:00:02}
NS=ltpt$$ HOST=10.97.0.1 GUEST=10.97.0.2

# the two e1000e (8086:10d3) of the KVM host, told apart by MAC
pt= hif=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x8086 ] && [ "$(cat "$d/device")" = 0x10d3 ] || continue
	for n in "$d"/net/*; do
		[ -e "$n/address" ] || continue
		case $(cat "$n/address") in
		"$PT_MAC") pt=$(basename "$d") ;;
		"$HOST_MAC") hif=${n##*/} ;;
		esac
	done
done
if [ -z "$pt" ] || [ -z "$hif" ]; then
	[ -n "${MODVMM_IN_KVMHOST:-}" ] || { echo "SKIP: no e1000e pair with MACs $PT_MAC and $HOST_MAC on this host" >&2; exit 77; }
	fail "no e1000e with MAC $PT_MAC (passed through: '$pt') and $HOST_MAC (the host's: '$hif') on the e1000e driver in the KVM host: kvmhost was not given them"
fi
SYS=/sys/bus/pci/devices/$pt
[ -e "$SYS/iommu_group" ] || fail "$pt has no IOMMU group: no IOMMU in the KVM host"
echo "ok: e1000e $pt (MAC $PT_MAC) to pass through, IOMMU group $(basename "$(readlink "$SYS/iommu_group")"); the host's e1000e is $hif"

ip netns add $NS || fail "ip netns add"
huge_was=  # nr_hugepages to restore at exit, when this test raised it
cleanup() {
	[ -z "$huge_was" ] || echo "$huge_was" >/proc/sys/vm/nr_hugepages
	ip netns del $NS 2>/dev/null
	[ -n "${KEEP_T:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
nsx() { ip netns exec $NS "$@"; }
nsx ip link set lo up
ip link set "$hif" netns $NS || fail "ip link set $hif netns $NS"
nsx ip addr add $HOST/24 dev "$hif"
# the host's carrier, woken by rtnetlink events: the monitor is started
# before the binding below (which takes a while) and is known to listen once
# it has shown an event of the interface (up, or our alias change: a change
# of a down interface makes none); the carrier is read after that
nsx ip -o monitor link >"$T/mon" 2>&1 &
mpid=$!

# bind the other one to vfio-pci, as README "vfio-pci" says
[ ! -e "$SYS/driver" ] || echo "$pt" >"$SYS/driver/unbind" || fail "cannot unbind $pt"
echo vfio-pci >"$SYS/driver_override"
echo "$pt" >/sys/bus/pci/drivers_probe
[ "$(basename "$(readlink "$SYS/driver")")" = vfio-pci ] || fail "$pt did not bind to vfio-pci"
echo "ok: $pt bound to vfio-pci"

nsx ip link set "$hif" up
nsx ip link set "$hif" alias "lt-$$"
wait_for "$T/mon" "$hif:" 30
[ "$(nsx cat "/sys/class/net/$hif/carrier" 2>/dev/null)" = 1 ] || wait_for "$T/mon" "LOWER_UP" 60
kill "$mpid"
wait "$mpid" 2>/dev/null
echo "ok: the host's $hif: $(nsx ip -br link show "$hif")"

# modvmm's guest RAM on huge pages (`hugepages = true`).  The KVM host's
# e1000e is QEMU 7.2's, which DMA-maps each TX buffer in one piece
# (hw/net/net_tx_pkt.c: pci_dma_map must return the whole length) and drops
# the frame when the buffer crosses an IOMMU page that is not followed by the
# next one in the same mapping.  Guest RAM of 4 KiB pages (a memfd) is mapped
# into the IOMMU page by page, so every TSO buffer crossing a 4 KiB boundary
# was dropped and TCP stalled (ping and MTU-sized frames passed).  QEMU's own
# guest RAM is on transparent huge pages, hence 2 MiB IOMMU pages.  Real
# hardware behind a real IOMMU has no such limit.
[ "$(awk '/^Hugepagesize:/ {print $2}' /proc/meminfo)" = 2048 ] || fail "huge pages are not 2 MiB: $(grep Hugepagesize /proc/meminfo)"
huge_free() { awk '/^HugePages_Free:/ {print $2}' /proc/meminfo; }
if [ "$(huge_free)" -lt $((LT_MEMORY / 2)) ]; then
	huge_was=$(cat /proc/sys/vm/nr_hugepages)
	echo $((huge_was + LT_MEMORY / 2 - $(huge_free))) >/proc/sys/vm/nr_hugepages
	[ "$(huge_free)" -ge $((LT_MEMORY / 2)) ] ||
		fail "cannot reserve $((LT_MEMORY / 2)) huge pages for the guest's RAM: $(grep -i huge /proc/meminfo | tr '\n' ' ')"
fi

CMD="lt.test=vfio-e1000e lt.bytes=$BYTES lt.host=$HOST lt.guest=$GUEST lt.mac=$PT_MAC"
for vmm in ${LT_VMMS:-modvmm qemu}; do
	lt_host_listen $vmm
	if [ $vmm = modvmm ]; then
		LT_VM_LINES="hugepages = true" lt_start modvmm vfio-e1000e 1 "$CMD" "[device nic0]
plugin = vfio-pci
host = $pt"
	else
		lt_start qemu vfio-e1000e 1 "$CMD" "-device vfio-pci,host=$pt"
	fi
	lt_host_traffic $vmm vfio-e1000e
	grep -a -E "LINUXTEST: (interrupts|offloads)" "$T/vfio-e1000e.$vmm.log" | tr -d '\r'
	echo "$vmm: guest -> host $(cat "$T/hrecv.$vmm"); host -> guest $(cat "$T/hsend.$vmm")"
	if [ $vmm = modvmm ]; then
		grep -E "PCI 00:0[0-9a-f].0 \[nic0\] 8086:10d3 .*MSI-X" "$T/vfio-e1000e.modvmm.err" ||
			fail "no passed-through e1000e with MSI-X in modvmm's topology: $(cat "$T/vfio-e1000e.modvmm.err")"
	fi
	[ "$(basename "$(readlink "$SYS/driver")")" = vfio-pci ] || fail "$pt left vfio-pci after $vmm"
done
