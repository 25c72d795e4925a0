# virtio-net on a tap whose host side (lt.host, in a namespace of the test)
# runs tcpx: link up, ping the host, a checked TCP transfer of lt.bytes to the
# host (its receiver listens before the guest boots), then one from the host:
# the guest listens, prints "LINUXTEST: READY tcp-rx" and waits for it.
. ./lib.sh
. ./net-lib.sh
bytes=${LT_BYTES:-1048576}
net_up eth0 "$LT_GUEST/24"
ping -c 3 -W 10 "$LT_HOST" || fail "ping $LT_HOST"
tcpx send "$LT_HOST" 5001 "$bytes" || fail "TCP transfer of $bytes bytes to the host"
tcp_recv "" 5002
say "READY tcp-rx"
wait "$recv_pid" || { cat /tmp/recv.5002; fail "TCP transfer from the host"; }
cat /tmp/recv.5002
