# Two guests on the two ends of one link (modvmm: a pipe; QEMU: a TCP socket
# netdev), lt.role=a or b, addresses lt.a and lt.b: ping both ways and a
# checked TCP transfer of lt.bytes each way (b -> a on port 5001, a -> b on
# 5002).  a boots first and says READY tcp-rx once it listens; the test then
# starts b.  With lt.carrier=1 (modvmm) the carrier follows the peer:
# a has none until b's end joins; after the transfers b says READY kill and
# waits to be killed (kill -9 of its modvmm), a sees the carrier go, listens
# on 5003 and says READY rejoin; a third guest (lt.role=c) joins the pipe,
# a sees the carrier come back and c sends a transfer to a.
. ./lib.sh
. ./net-lib.sh
bytes=${LT_BYTES:-1048576}
case $LT_ROLE in
a)
	ip link set eth0 up || fail "ip link set eth0 up"
	ip addr add "$LT_A/24" dev eth0
	tcp_recv "" 5001
	if [ "$LT_CARRIER" = 1 ]; then
		[ "$(cat /sys/class/net/eth0/carrier)" = 0 ] || fail "carrier with no peer on the pipe"
		ip link show eth0 | grep -q NO-CARRIER || fail "ip link shows no NO-CARRIER: $(ip link show eth0)"
		say "no peer yet: $(ip -br link show eth0)"
	fi
	say "READY tcp-rx"
	[ "$LT_CARRIER" = 1 ] && carrier_wait eth0 1
	wait "$recv_pid" || { cat /tmp/recv.5001; fail "TCP transfer from b"; }
	cat /tmp/recv.5001
	ping -c 3 -W 10 "$LT_B" || fail "ping $LT_B (b)"
	tcpx send "$LT_B" 5002 "$bytes" || fail "TCP transfer of $bytes bytes to b"
	[ "$LT_CARRIER" = 1 ] || exit 0
	carrier_wait eth0 0
	ip link show eth0 | grep -q NO-CARRIER || fail "ip link shows no NO-CARRIER: $(ip link show eth0)"
	tcp_recv "" 5003
	say "READY rejoin"
	carrier_wait eth0 1
	wait "$recv_pid" || { cat /tmp/recv.5003; fail "TCP transfer from c"; }
	cat /tmp/recv.5003 ;;
b)
	net_up eth0 "$LT_B/24"
	tcp_recv "" 5002
	ping -c 3 -W 10 "$LT_A" || fail "ping $LT_A (a)"
	tcpx send "$LT_A" 5001 "$bytes" || fail "TCP transfer of $bytes bytes to a"
	wait "$recv_pid" || { cat /tmp/recv.5002; fail "TCP transfer from a"; }
	cat /tmp/recv.5002
	if [ "$LT_CARRIER" = 1 ]; then
		say "READY kill"
		mkfifo /tmp/never && read -r line </tmp/never   # until modvmm is killed
	fi ;;
c)
	net_up eth0 "$LT_B/24"
	ping -c 3 -W 10 "$LT_A" || fail "ping $LT_A (a)"
	tcpx send "$LT_A" 5003 "$bytes" || fail "TCP transfer of $bytes bytes to a" ;;
*) fail "lt.role=$LT_ROLE" ;;
esac
