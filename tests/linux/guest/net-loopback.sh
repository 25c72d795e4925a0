# virtio-net on a backend that sends every frame back (modvmm's loopback,
# QEMU's UDP socket to itself): eth0 in this namespace and a macvlan on top of
# it in namespace "peer" (its MAC reaches the device's filter through the
# control queue), ping, and a TCP transfer of lt.bytes each way.
. ./lib.sh
. ./net-lib.sh
bytes=${LT_BYTES:-1048576}
net_up eth0 10.0.0.1/24
ip netns add peer || fail "ip netns add"
ip link add mv0 link eth0 type macvlan mode bridge || fail "ip link add macvlan"
ip link set mv0 netns peer || fail "ip link set mv0 netns peer"
ip -n peer addr add 10.0.0.2/24 dev mv0
ip -n peer link set lo up
ip -n peer link set mv0 up || fail "mv0 up"
ping -c 3 -W 10 10.0.0.2 || fail "ping 10.0.0.2 (the macvlan) from eth0"
ip netns exec peer ping -c 3 -W 10 10.0.0.1 || fail "ping 10.0.0.1 (eth0) from the macvlan"
tcp_to "ip netns exec peer" 10.0.0.2 5001 "$bytes"
tcp_to "" 10.0.0.1 5002 "$bytes" "ip netns exec peer"
say "ping and TCP both ways over eth0"
