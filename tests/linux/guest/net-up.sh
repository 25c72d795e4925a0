# Bring eth0 up (the stock virtio-net driver) and show what it negotiated.
. ./lib.sh
ip link set eth0 up || fail "ip link set eth0 up"
say "eth0 up"
ip link show eth0
