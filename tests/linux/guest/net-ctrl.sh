# The receive filter through the control queue, on a backend that returns
# every frame (the guest's own pings come back to eth0 and are counted there,
# before IP looks at them): frames to a foreign unicast address are dropped by
# the device until `ip link set eth0 promisc on` (RX_PROMISC); frames to a
# multicast group pass only after `ip maddr add` (MAC_TABLE_SET); after `ip
# link set eth0 address` (MAC_ADDR_SET) frames to the new address pass and
# frames to the old one do not.  IPv6 is off on eth0: no other traffic.
. ./lib.sh
echo 1 >/proc/sys/net/ipv6/conf/eth0/disable_ipv6
ip link set eth0 up || fail "ip link set eth0 up"
ip addr add 10.0.0.1/24 dev eth0
ip route add 224.0.0.0/4 dev eth0
old=$(cat /sys/class/net/eth0/address) new=02:00:00:00:00:99
ip neigh add 10.0.0.77 lladdr 02:00:00:00:00:77 dev eth0 nud permanent

# received IP: how many of 3 pings to IP came back into eth0 (one ping
# each: every request is sent whatever the timing, and its frame is back
# long before the second that ping waits for an answer)
received() {
	local rx0 i
	rx0=$(cat /sys/class/net/eth0/statistics/rx_packets)
	for i in 1 2 3; do
		ping -c 1 -W 1 "$1" >/dev/null 2>&1
	done
	echo $(( $(cat /sys/class/net/eth0/statistics/rx_packets) - rx0 ))
}
# expect WHAT IP N: exactly N (0 or 3) of 3 frames came back
expect() {
	local got
	got=$(received "$2")
	[ "$got" = "$3" ] || fail "$1: $got of 3 frames received, want $3"
	say "$1: $got of 3 frames received"
}
expect "foreign unicast" 10.0.0.77 0
ip link set eth0 promisc on
expect "foreign unicast, promiscuous" 10.0.0.77 3
ip link set eth0 promisc off
expect "foreign unicast, promiscuous off again" 10.0.0.77 0
expect "multicast 224.1.2.3 not joined" 224.1.2.3 0
ip maddr add 01:00:5e:01:02:03 dev eth0 || fail "ip maddr add"
expect "multicast 224.1.2.3 joined" 224.1.2.3 3
ip link set eth0 allmulticast on
expect "multicast 224.1.2.4, all-multicast" 224.1.2.4 3
ip link set eth0 address $new || fail "ip link set eth0 address $new"
# after the change: a new address flushes the neighbour table, permanent
# entries too (else the pings below would send ARP broadcasts)
ip neigh replace 10.0.0.98 lladdr "$old" dev eth0 nud permanent
ip neigh replace 10.0.0.99 lladdr $new dev eth0 nud permanent
expect "own new address" 10.0.0.99 3
expect "old address" 10.0.0.98 0
