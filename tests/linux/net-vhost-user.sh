#!/bin/bash
# The stock virtio-net driver with its queues served by DPDK's testpmd over
# vhost-user (io forwarding, the port looped onto itself: every frame goes
# back to the guest, as on a loopback): eth0 and a macvlan on it ping each
# other and move a checked TCP transfer each way (guest/net-loopback.sh);
# testpmd's own counters must show the traffic.  modvmm's `vhost-user`
# backend as the client of testpmd's socket; QEMU the same way (-chardev
# socket, -netdev vhost-user, guest RAM in a shared memfd).  testpmd drops a
# frame when the guest's RX ring is full (io forwarding has no retry): TCP
# resends it.  testpmd's replies take longer than modvmm's default 5 s inside
# the emulated KVM host (mapping 512 MiB of guest RAM while its CPUs run the
# forwarding loop and the booting guest): reply_timeout_ms is scaled.
# usage: net-vhost-user.sh MODVMM TCPX
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/../e2e/testpmd-lib.sh"
. "$(dirname "$0")/initramfs.sh"
. "$(dirname "$0")/lib.sh"
lt_init "$@"
need_testpmd
BYTES=${LT_BYTES:-$((64 << 20))}
SOCK=$T/vu.sock
for vmm in modvmm qemu; do
	testpmd_start tp.$vmm "$SOCK" ""
	if [ $vmm = modvmm ]; then
		lt_start modvmm vhost-user 1 "lt.test=net-loopback lt.bytes=$BYTES" "$(lt_vnet "plugin = vhost-user
socket = $SOCK
reply_timeout_ms = $(($(scaled 5) * 1000))")"
	else
		lt_start qemu vhost-user 1 "lt.test=net-loopback lt.bytes=$BYTES" \
			"-object memory-backend-memfd,id=mem,size=${LT_MEMORY}M,share=on -machine memory-backend=mem
			 -chardev socket,id=c0,path=$SOCK -netdev vhost-user,id=n0,chardev=c0 -device virtio-net-pci,netdev=n0"
	fi
	lt_finish $vmm vhost-user
	testpmd_stop
	if [ $vmm = modvmm ] && grep "link down" "$T/vhost-user.modvmm.err"; then
		fail "modvmm's link to testpmd went down (above)"
	fi
	# two transfers of BYTES, each frame sent by eth0 or the macvlan comes
	# back from testpmd: at least BYTES * 2 / 64 KiB (the largest TSO frame)
	[ "$TP_RX" -ge $((BYTES * 2 >> 16)) ] && [ "$TP_TX" -ge $((BYTES * 2 >> 16)) ] ||
		fail "under $vmm testpmd counted RX $TP_RX TX $TP_TX (TX-dropped $TP_TXDROP), want at least $((BYTES * 2 >> 16)) each"
	echo "$vmm: testpmd RX $TP_RX TX $TP_TX TX-dropped $TP_TXDROP; $(grep -a 'tcpx: sent' "$T/vhost-user.$vmm.log" | tr -d '\r' | tr '\n' ';')"
done
