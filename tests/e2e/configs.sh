#!/bin/bash
# Every configs/*.ini passes `modvmm check` (kernel paths pointed at this build;
# a kernel the build does not make, such as linux.ini's Debian kernel, is
# replaced by the hello guest), and the demo (configs/demo.ini: virtio-net and
# a ptnetmap-memdev on the two ends of one pipe in one VM) runs to its verdict.
# usage: configs.sh MODVMM CONFIGS-DIR BUILD-ROOT
. "$(dirname "$0")/lib.sh"
MODVMM=$(realpath "$1") CONFIGS=$(realpath "$2") BUILD=$(realpath "$3")
export MODVMM_RUNDIR=$T/run

n=0
for f in "$CONFIGS"/*.ini; do
	ini=$T/$(basename "$f")
	sed "s|\.\./build/|$BUILD/|g" "$f" >"$ini"
	kernel=$(sed -n 's/^kernel *= *\([^ ;]*\).*/\1/p' "$ini")
	[ -z "$kernel" ] || [ -e "$kernel" ] || sed -i "s|^kernel *=.*|kernel = $BUILD/tests/guest/hello.elf|" "$ini"
	"$MODVMM" check "$ini" >"$T/check.out" 2>&1 || fail "modvmm check $(basename "$f"): $(cat "$T/check.out")"
	n=$((n + 1))
done
[ $n -ge 8 ] || fail "only $n configs found in $CONFIGS"
echo "$n configs pass modvmm check"

need_kvm
run_vm "$T/demo.ini"
[ "$status" = 0 ] || fail "demo: exit status $status: $(cat "$T/out" "$T/err")"
expect_in "$T/out" "demo: virtio-net sent 1000, memdev echoed 1000, received 1000 in order (errors 0"
expect_in "$T/out" "demo: loopback sent 1000, received 1000 in order (errors 0)"
grep -h "^demo:" "$T/out"
echo "ok"
