#!/bin/bash
# Table of bad INI files (tests/check/bad/*.ini).  Each file ends with the
# errors `modvmm check` must print, one per line, as ";! LINE: message" (@GUEST@
# is the hello guest, @BUILD@ the build root); the test wants exactly those
# lines, FILE:LINE: first, in line order, exit status 241 and no crash.
# `modvmm run` must refuse the same file with the same lines: check reports
# every refusal run would make from the file.  Every shipped configs/*.ini
# must pass `check` (no KVM needed: nothing starts), and so must each one-line
# backend swap a config shows ("plugin = A    ; one-line swap: B, C").
# usage: bad-ini.sh MODVMM hello.elf CASES-DIR CONFIGS-DIR BUILD-ROOT
set -u
MODVMM=$(realpath "$1") GUEST=$(realpath "$2") CASES=$(realpath "$3") CONFIGS=$(realpath "$4") BUILD=$(realpath "$5")
T=$(mktemp -d /tmp/modvmm-bad-ini.XXXXXX)
trap 'rm -rf "$T"' EXIT
unset MODVMM_PLUGIN_PATH
export MODVMM_RUNDIR=$T/run
EXIT_CONFIG=241
failed=0 n=0

bad() {
	echo "FAIL: $*" >&2
	failed=$((failed + 1))
}

cd "$T" || exit 1
for src in "$CASES"/*.ini; do
	name=$(basename "$src")
	sed -e "s|@GUEST@|$GUEST|g" -e "s|@BUILD@|$BUILD|g" "$src" >"$name"
	sed -n "s|^;! |$name:|p" "$src" | sed -e "s|@GUEST@|$GUEST|g" -e "s|@BUILD@|$BUILD|g" >want
	[ -s want ] || bad "$name: no ';! LINE: message' line"
	for cmd in check run; do
		status=0
		timeout 60 "$MODVMM" "$cmd" "$name" >out 2>err </dev/null || status=$?
		if [ "$status" != "$EXIT_CONFIG" ]; then
			bad "$cmd $name: exit status $status, expected $EXIT_CONFIG"
		elif [ -s out ]; then
			bad "$cmd $name: printed on stdout: $(cat out)"
		elif ! diff -u want err >diff; then
			bad "$cmd $name: wrong messages:"
			cat diff >&2
		fi
	done
	n=$((n + 1))
done
[ "$n" -ge 40 ] || bad "only $n bad INI files in $CASES"
echo "$n bad INI files refused by check and run with the expected FILE:LINE: messages"

# the shipped configs: kernel paths pointed at this build; a kernel the build
# does not make (linux.ini's Debian kernel) is replaced by the hello guest
ngood=0 nswaps=0
for f in "$CONFIGS"/*.ini; do
	ini=$T/good-$(basename "$f")
	sed "s|\.\./build/|$BUILD/|g" "$f" >"$ini"
	kernel=$(sed -n 's/^kernel *= *\([^ ;]*\).*/\1/p' "$ini")
	[ -z "$kernel" ] || [ -e "$kernel" ] || sed -i "s|^kernel *=.*|kernel = $GUEST|" "$ini"
	"$MODVMM" check "$ini" >out 2>&1 || bad "check $(basename "$f"): $(cat out)"
	ngood=$((ngood + 1))
	# "plugin = A    ; one-line swap: B, C": the file passes check with B and C too
	grep -n '^plugin = [^ ;]* *; one-line swap: ' "$ini" | while IFS=: read -r ln line; do
		for alt in $(echo "${line#*one-line swap: }" | tr ',' ' '); do
			sed "${ln}s/^plugin = [^ ;]*/plugin = $alt/" "$ini" >swapped.ini
			"$MODVMM" check swapped.ini >out 2>&1 || echo "$(basename "$f") with plugin = $alt: $(cat out)"
		done
	done >swaps
	[ ! -s swaps ] || bad "a one-line backend swap is refused: $(cat swaps)"
	nswaps=$((nswaps + $(grep -c '; one-line swap: ' "$ini")))
done
[ "$nswaps" -ge 2 ] || bad "only $nswaps configs show a one-line swap"
echo "$ngood shipped configs pass check, $nswaps one-line backend swaps too"
[ "$failed" = 0 ] || { echo "$failed failures" >&2; exit 1; }
echo ok
