# MTU 9000 on a tap whose host side has MTU 9000 (lt.host): the device
# advises 9000 (VIRTIO_NET_F_MTU), eth0 takes it, a 9000-byte ping comes back
# unfragmented (the receive counter grows by about one per reply, not by the
# seven fragments each would need at 1500), and a checked TCP transfer of
# lt.bytes goes to the host.
. ./lib.sh
. ./net-lib.sh
bytes=${LT_BYTES:-1048576}
ip link set eth0 mtu 9000 || fail "ip link set eth0 mtu 9000"
net_up eth0 "$LT_GUEST/24"
[ "$(cat /sys/class/net/eth0/mtu)" = 9000 ] || fail "eth0 MTU $(cat /sys/class/net/eth0/mtu)"
ping -c 1 -W 10 "$LT_HOST" >/dev/null || fail "ping $LT_HOST"
rx0=$(cat /sys/class/net/eth0/statistics/rx_packets)
ping -c 5 -s 8972 -W 10 "$LT_HOST" || fail "ping -s 8972 $LT_HOST"
rx=$(( $(cat /sys/class/net/eth0/statistics/rx_packets) - rx0 ))
[ "$rx" -lt 10 ] || fail "$rx packets received for 5 replies of 9000 bytes: fragmented?"
say "5 pings of 9000 bytes in $rx received packets"
tcpx send "$LT_HOST" 5001 "$bytes" || fail "TCP transfer of $bytes bytes to the host at MTU 9000"
