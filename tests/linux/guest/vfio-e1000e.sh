# Linux's e1000e driver on an e1000e of the KVM host passed through to this
# guest (modvmm's vfio-pci plugin, QEMU's -device vfio-pci): the driver bound
# it with the MAC of its EEPROM (lt.mac) and MSI-X vectors, the carrier came
# up; on the other side of the KVM host's QEMU network is a second e1000e
# (lt.host, in a namespace of the test) running tcpx: ping it, a checked TCP
# transfer of lt.bytes to it (its receiver listens before the guest boots),
# then one from it: the guest listens, prints "LINUXTEST: READY tcp-rx" and
# waits for it.
. ./lib.sh
. ./net-lib.sh
bytes=${LT_BYTES:-1048576}
if=
for n in /sys/class/net/*; do
	[ "$(basename "$(readlink "$n/device/driver" 2>/dev/null)")" = e1000e ] && if=${n##*/}
done
[ -n "$if" ] || fail "no interface of the e1000e driver: $(ls /sys/class/net); $(dmesg | grep -i e1000e)"
say "$if: $(dmesg | grep -i 'e1000e.*Intel' | tail -n 1)"
mac=$(cat "/sys/class/net/$if/address")
[ "$mac" = "$LT_MAC" ] || fail "$if has MAC $mac, expected $LT_MAC (the EEPROM read through)"
ip link set "$if" up || fail "ip link set $if up"
ip addr add "$LT_GUEST/24" dev "$if" || fail "ip addr add"
carrier_wait "$if" 1
say "offloads: $(ethtool -k "$if" | grep -E '^(tcp-segmentation-offload|generic-segmentation-offload|scatter-gather):' | tr -d '\t' | tr '\n' ';')"
# MSI-X: the driver names its vectors IF-rx-0, IF-tx-0 and IF (other causes)
grep -q "$if-rx-0" /proc/interrupts || fail "no MSI-X vector $if-rx-0: $(grep "$if" /proc/interrupts)"
say "interrupts: $(grep "$if" /proc/interrupts | tr -s ' ' | tr '\n' ';')"
host_traffic "$bytes"
say "interrupts after: $(grep "$if" /proc/interrupts | tr -s ' ' | tr '\n' ';')"
