# kmod/ in a stock Linux guest: load uio and ptnetmap_memdev_uio (built
# against this kernel's headers), check that it bound every ptnetmap-memdev
# (1b36:000c, class ff0000) with a UIO device and sane sysfs geometry, then run
# lib/nmguest's nmguest-pktgen on them in order.
# lt.devs=N: memdevs expected.  lt.steps=MODE:DEV:COUNT,...: MODE tx or rx on
# the DEV-th memdev (PCI order); before an rx step the script prints
# "LINUXTEST: rx ready on DEV" for the host's sender.
. ./lib.sh
insmod /lib/modules/extra/uio.ko || fail "insmod uio"
insmod /lib/modules/extra/ptnetmap_memdev_uio.ko || fail "insmod ptnetmap_memdev_uio"
devs=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor"):$(cat "$d/device"):$(cat "$d/class")" = 0x1b36:0x000c:0xff0000 ] || continue
	drv=$(readlink "$d/driver")
	[ "${drv##*/}" = ptnetmap_memdev_uio ] || fail "${d##*/} is bound to '${drv##*/}', not ptnetmap_memdev_uio"
	ls "$d/uio" | grep -q '^uio[0-9]' || fail "${d##*/} has no UIO device"
	for a in tx_rings rx_rings tx_slots rx_slots buf_size buf_count mem_size link_up; do
		[ -r "$d/$a" ] || fail "${d##*/}: no sysfs attribute $a"
	done
	[ "$(cat "$d/tx_rings")" -ge 1 ] && [ "$(cat "$d/tx_slots")" -ge 4 ] && [ "$(cat "$d/buf_size")" -ge 64 ] ||
		fail "${d##*/}: bad geometry"
	say "memdev ${d##*/}: $(cat "$d/tx_rings") rings of $(cat "$d/tx_slots") slots, buffers $(cat "$d/buf_size") B x $(cat "$d/buf_count"), link $(cat "$d/link_up"), $(ls "$d/uio")"
	devs="$devs ${d##*/}"
done
set -- $devs
[ $# = "${LT_DEVS:-1}" ] || fail "found $# memdevs bound, expected ${LT_DEVS:-1}"
grep -q ptnetmap_memdev_uio /proc/modules || fail "module not listed in /proc/modules"
for step in $(echo "$LT_STEPS" | tr , ' '); do
	mode=${step%%:*} rest=${step#*:}
	i=${rest%%:*} n=${rest#*:}
	eval "addr=\${$((i + 1))}"
	[ -n "$addr" ] || fail "no memdev $i"
	[ "$mode" = rx ] && say "rx ready on $i"
	nmguest-pktgen -d "$addr" -m "$mode" -n "$n" >/tmp/out 2>&1 || { cat /tmp/out; fail "nmguest-pktgen -m $mode on $addr exited $?"; }
	cat /tmp/out
	case $mode in
	tx) grep -q "^tx: $n packets" /tmp/out || fail "tx: not $n packets sent" ;;
	rx) grep -q "^rx: sessions 1 errors 0 last $((n - 1))\$" /tmp/out || fail "rx: not $n packets in order" ;;
	esac
done
rmmod ptnetmap_memdev_uio || fail "rmmod ptnetmap_memdev_uio"
for a in $devs; do
	[ ! -e "/sys/bus/pci/devices/$a/driver" ] || fail "$a still bound after rmmod"
done
