# Four queue pairs (lt.cpus vCPUs, a multi-queue tap): `ethtool -L eth0
# combined 4` (VQ_PAIRS_SET through the control queue), then one checked TCP
# transfer to the host from each CPU (ports 5001-5004, tcpx pinned with
# taskset: XPS sends CPU k's packets on queue k, and the tap answers each flow
# on the queue it came from); every queue must have sent and received.
. ./lib.sh
. ./net-lib.sh
bytes=${LT_BYTES:-1048576}
n=4
ethtool -L eth0 combined $n || fail "ethtool -L eth0 combined $n"
ethtool -l eth0 | tail -n 5 | grep -q "Combined:.*$n" || { ethtool -l eth0; fail "combined is not $n"; }
net_up eth0 "$LT_GUEST/24"
ping -c 1 -W 10 "$LT_HOST" >/dev/null || fail "ping $LT_HOST"
for cpu in 0 1 2 3; do
	taskset -c $cpu tcpx send "$LT_HOST" $((5001 + cpu)) "$bytes" || fail "TCP from CPU $cpu"
done
ethtool -S eth0 | grep -E "_queue_[0-9]+_packets"
for q in 0 1 2 3; do
	for dir in tx rx; do
		p=$(ethtool -S eth0 | sed -n "s/^ *${dir}_queue_${q}_packets: //p")
		[ "${p:-0}" -gt 0 ] || fail "$dir queue $q carried no packet"
	done
done
say "traffic on each of $n queue pairs"
