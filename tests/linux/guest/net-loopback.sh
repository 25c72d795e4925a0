# virtio-net on a backend that sends every frame back (modvmm's loopback,
# QEMU's UDP socket to itself): eth0 in this namespace and a macvlan on top of
# it in namespace "peer" (its MAC reaches the device's filter through the
# control queue), ping, and a TCP transfer of lt.bytes each way.
. ./lib.sh
. ./net-lib.sh
macvlan_up
macvlan_traffic "${LT_BYTES:-1048576}"
say "ping and TCP both ways over eth0"
