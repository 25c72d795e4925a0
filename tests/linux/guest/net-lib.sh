# Network helpers for the guest scripts.

# net_up IF ADDR/LEN: link up, address, carrier seen.
net_up() {
	ip link set "$1" up || fail "ip link set $1 up"
	ip addr add "$2" dev "$1" || fail "ip addr add $2 dev $1"
	[ "$(cat "/sys/class/net/$1/carrier")" = 1 ] || fail "$1 has no carrier"
	say "$1 up: $(ip -br link show "$1")"
}

# tcp_recv [PREFIX] PORT: start tcpx recv (under PREFIX, e.g. a netns exec)
# in the background and return once it listens; its pid is $recv_pid and its
# output goes to /tmp/recv.PORT.
tcp_recv() {
	rm -f /tmp/rdy && mkfifo /tmp/rdy
	$1 tcpx recv "$2" 3>/tmp/rdy >"/tmp/recv.$2" 2>&1 &
	recv_pid=$!
	read -r line </tmp/rdy
	[ "$line" = listening ] || { cat "/tmp/recv.$2"; fail "tcpx recv $2 did not start"; }
}

# tcp_to RECV-PREFIX HOST PORT BYTES [SEND-PREFIX]: one checked transfer.
tcp_to() {
	tcp_recv "$1" "$3"
	$5 tcpx send "$2" "$3" "$4" || fail "TCP transfer of $4 bytes to $2:$3"
	wait "$recv_pid" || { cat "/tmp/recv.$3"; fail "the receiver on $2:$3 failed"; }
	cat "/tmp/recv.$3"
}
