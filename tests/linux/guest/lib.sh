# Helpers for the guest scripts (sourced by /tests/NAME.sh inside the guest).
fail() {
	echo "LINUXTEST: FAIL ${LT_TEST:-?}: $*"
	exit 1
}
say() {
	echo "LINUXTEST: $*"
}
# Debian's busybox-static runs its own applets before PATH: iproute2's ip
# (for netns, macvlan, -br) must be named.
ip() {
	/usr/sbin/ip "$@"
}
