# virtio-net whose backend the host swaps while the guest runs (modvmm only:
# QEMU has no such thing): ping the host through tap A, say "READY swap", then
# wait for the carrier to go down and come back (the swap to tap B, in the
# same bridge), ping the host again, say "READY host-ping" and wait for a line
# on the console (sent once the host pinged the guest).
. ./lib.sh
. ./net-lib.sh
net_up eth0 "$LT_GUEST/24"
ping -c 3 -W 10 "$LT_HOST" || fail "ping $LT_HOST before the swap"
c0=$(cat /sys/class/net/eth0/carrier_changes)
say "READY swap"
changes_wait eth0 $((c0 + 2))
carrier_is eth0 1 || fail "eth0 has no carrier after the swap"
ping -c 3 -W 10 "$LT_HOST" || fail "ping $LT_HOST after the swap"
say "pinged $LT_HOST after the swap"
say "READY host-ping"
read -r line || fail "no line from the console"
say "the host pinged: $line"
