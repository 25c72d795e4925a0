# Device reset by the driver, on a backend that sends every frame back
# (macvlan_traffic): traffic, then lt.rounds times the virtio_net driver
# unbound from the virtio device and bound again (virtio reset, queues torn
# down and set up) and the virtio-pci driver unbound from the PCI function and
# bound again (MSI-X vectors freed, bus mastering off, a new virtio device),
# each followed by traffic.  Around the rounds the guest says READY
# fds-before and READY fds-after and reads a line from the console: the test
# counts modvmm's file descriptors and threads meanwhile.
. ./lib.sh
. ./net-lib.sh
bytes=${LT_BYTES:-1048576}
VIRTIO_NET=/sys/bus/virtio/drivers/virtio_net VIRTIO_PCI=/sys/bus/pci/drivers/virtio-pci
macvlan_up
macvlan_traffic "$bytes"

# rebind DRIVER-DIR DEV: unbind DEV, eth0 must go; bind it, eth0 must come
# back; then the macvlan on it again
rebind() {
	echo "$2" >"$1/unbind" || fail "unbind $2 from $1"
	[ -e /sys/class/net/eth0 ] && fail "eth0 is still there after unbinding $2"
	echo "$2" >"$1/bind" || fail "bind $2 to $1"
	[ -e /sys/class/net/eth0 ] || fail "no eth0 after binding $2 to $1"
	say "rebound $2 to ${1##*/}"
	macvlan_up
}
say "READY fds-before"
read -r line || fail "no line from the console"
for i in $(seq "${LT_ROUNDS:-3}"); do
	rebind $VIRTIO_NET "$(basename "$(readlink /sys/class/net/eth0/device)")"
	macvlan_traffic 65536
	rebind $VIRTIO_PCI "$(basename "$(readlink -f /sys/class/net/eth0/device/..)")"
	macvlan_traffic 65536
done
say "READY fds-after"
read -r line || fail "no line from the console"
macvlan_traffic "$bytes"
say "traffic before, between and after $i rounds of rebinding"
