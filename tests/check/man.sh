#!/bin/bash
# The manual pages: `man -l` renders each without a warning, they are installed,
# and modvmm.ini(5) lists every key of [vm] and of every plugin as
# `modvmm plugins NAME` prints them.
# usage: man.sh MODVMM BUILD-ROOT
set -u
MODVMM=$(realpath "$1") BUILD=$(realpath "$2")
T=$(mktemp -d /tmp/modvmm-man.XXXXXX)
trap 'rm -rf "$T"' EXIT
unset MODVMM_PLUGIN_PATH
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
command -v man >/dev/null || fail "man is not installed (scripts/deps.sh --test installs man-db)"

for page in modvmm.1 modvmm.ini.5 modvmm-plugin.7; do
	f=$BUILD/man/$page
	[ -s "$f" ] || fail "$f was not built"
	MANWIDTH=200 man --warnings -l "$f" >"$T/$page.txt" 2>"$T/$page.err" || fail "man -l $page failed: $(cat "$T/$page.err")"
	[ ! -s "$T/$page.err" ] || fail "man -l $page warns: $(cat "$T/$page.err")"
	grep -q "^NAME" "$T/$page.txt" || fail "$page renders no NAME section"
	[ "$(wc -l <"$T/$page.txt")" -gt 40 ] || fail "$page renders to almost nothing"
done
grep -qF "modvmm.ini(5)" "$T/modvmm.1.txt" || fail "modvmm(1) does not refer to modvmm.ini(5)"
for st in 240 241 242 243; do
	grep -q "^ *$st" "$T/modvmm.1.txt" || fail "modvmm(1) does not document exit status $st"
done

# installed into man1, man5, man7
meson introspect "$BUILD" --installed >"$T/installed.json" || fail "meson introspect failed"
for p in man1/modvmm.1 man5/modvmm.ini.5 man7/modvmm-plugin.7; do
	grep -qF "/$p\"" "$T/installed.json" || fail "$p is not installed"
done

# every plugin's keys, in that plugin's section of modvmm.ini(5)
ini=$T/modvmm.ini.5.txt
"$MODVMM" plugins >"$T/list" || fail "modvmm plugins failed"
nplugins=0 nkeys=0
for name in $(awk 'NR > 1 { print $1 }' "$T/list"); do
	awk -v h="plugin = $name" 'index($0, h) && $0 ~ (h "$") { on = 1; next } on && /^   \[/ { on = 0 } on' \
		"$ini" >"$T/sect"
	[ -s "$T/sect" ] || fail "modvmm.ini(5) has no section for plugin $name"
	"$MODVMM" plugins "$name" >"$T/keys" || fail "modvmm plugins $name failed"
	for key in $(awk '/^  keys:/ { on = 1; next } on { print $1 }' "$T/keys"); do
		grep -qE "^ {7}$key( |$)" "$T/sect" || fail "modvmm.ini(5) does not list key '$key' of plugin $name"
		nkeys=$((nkeys + 1))
	done
	nplugins=$((nplugins + 1))
done
[ "$nplugins" -ge 10 ] || fail "only $nplugins plugins listed"
for key in name memory vcpus kernel cmdline initrd plugin_path hugepages vcpu_affinity; do
	grep -qE "^ {7}$key( |$)" "$ini" || fail "modvmm.ini(5) does not list [vm] key '$key'"
done
echo "ok: 3 pages render; modvmm.ini(5) lists the $nkeys keys of $nplugins plugins"
