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

# macvlan_up, on a backend that sends every frame back: eth0 (10.0.0.1) and
# a macvlan on top of it in namespace "peer" (10.0.0.2; its MAC reaches the
# device's filter through the control queue).  macvlan_traffic BYTES: they
# ping each other and move a checked TCP transfer of BYTES each way.
macvlan_up() {
	net_up eth0 10.0.0.1/24
	[ -e /run/netns/peer ] || ip netns add peer || fail "ip netns add"
	ip link add mv0 link eth0 type macvlan mode bridge || fail "ip link add macvlan"
	ip link set mv0 netns peer || fail "ip link set mv0 netns peer"
	ip -n peer addr add 10.0.0.2/24 dev mv0
	ip -n peer link set lo up
	ip -n peer link set mv0 up || fail "mv0 up"
}
macvlan_traffic() {
	ping -c 3 -W 10 10.0.0.2 || fail "ping 10.0.0.2 (the macvlan) from eth0"
	ip netns exec peer ping -c 3 -W 10 10.0.0.1 || fail "ping 10.0.0.1 (eth0) from the macvlan"
	tcp_to "ip netns exec peer" 10.0.0.2 5001 "$1"
	tcp_to "" 10.0.0.1 5002 "$1" "ip netns exec peer"
}

# host_traffic BYTES: ping lt.host, a checked TCP transfer of BYTES to it
# (its receiver listens before the guest boots), then one from it: the guest
# listens, prints "LINUXTEST: READY tcp-rx" and waits for it (the host's
# half: lt_host_traffic in tests/linux/lib.sh).
host_traffic() {
	ping -c 3 -W 10 "$LT_HOST" || fail "ping $LT_HOST"
	tcpx send "$LT_HOST" 5001 "$1" || fail "TCP transfer of $1 bytes to the host"
	tcp_recv "" 5002
	say "READY tcp-rx"
	wait "$recv_pid" || { cat /tmp/recv.5002; fail "TCP transfer from the host"; }
	cat /tmp/recv.5002
}

# link_wait IF WHAT COMMAND...: block until COMMAND succeeds, woken by rtnetlink
# link events (ip monitor), not by polling.  The monitor is known to listen
# once it has shown an event of our own (an alias change); COMMAND is run
# after that and again after every event, so no change is missed.
link_wait() {
	local line mpid if=$1 what=$2
	shift 2
	rm -f /tmp/mon && mkfifo /tmp/mon
	ip -o monitor link >/tmp/mon 2>&1 &
	mpid=$!
	exec 4</tmp/mon
	ip link set "$if" alias "link-wait-$$-$RANDOM"
	read -r -t 60 line <&4 || { kill $mpid; fail "ip monitor showed no event"; }
	while ! "$@"; do
		read -r -t 120 line <&4 || { kill $mpid; exec 4<&-; fail "$if: not $what after 120 s"; }
	done
	kill $mpid
	exec 4<&-
	say "$if: $what"
}

# carrier_wait IF 0|1: block until IF's carrier is 0 or 1.
carrier_is() { [ "$(cat "/sys/class/net/$1/carrier")" = "$2" ]; }
carrier_wait() { link_wait "$1" "carrier $2" carrier_is "$1" "$2"; }

# changes_wait IF N: block until IF's carrier changed N times since boot.
changes_reach() { [ "$(cat "/sys/class/net/$1/carrier_changes")" -ge "$2" ]; }
changes_wait() { link_wait "$1" "$2 carrier changes" changes_reach "$1" "$2"; }
