# Helpers for the guest scripts (sourced by /tests/NAME.sh inside the guest).
fail() {
	echo "LINUXTEST: FAIL ${LT_TEST:-?}: $*"
	exit 1
}
say() {
	echo "LINUXTEST: $*"
}
