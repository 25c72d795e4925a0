# virtio-net on a tap whose host side (lt.host, in a namespace of the test)
# runs tcpx: link up, ping the host, a checked TCP transfer of lt.bytes to the
# host (its receiver listens before the guest boots), then one from the host:
# the guest listens, prints "LINUXTEST: READY tcp-rx" and waits for it.
. ./lib.sh
. ./net-lib.sh
bytes=${LT_BYTES:-1048576}
net_up eth0 "$LT_GUEST/24"
# the offloads Linux uses by default were negotiated (virtio 1.2 §5.1.3 bits)
f=$(cat /sys/bus/virtio/devices/virtio*/features | head -n 1)
for bit in 0:CSUM 1:GUEST_CSUM 7:GUEST_TSO4 11:HOST_TSO4 15:MRG_RXBUF 29:EVENT_IDX; do
	[ "$(echo "$f" | cut -c$((${bit%%:*} + 1)))" = 1 ] || fail "feature ${bit#*:} not negotiated ($f)"
done
ethtool -k eth0 | grep -q "^tcp-segmentation-offload: on" || fail "TSO is off: $(ethtool -k eth0)"
say "features $f, TSO on"
host_traffic "$bytes"
