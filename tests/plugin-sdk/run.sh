#!/bin/bash
# Install modvmm into a scratch DESTDIR, build tests/plugin-sdk/sdk-hello.c with
# nothing but `pkg-config modvmm-plugin` from that tree, and load it into the
# built modvmm (listed, checked, and, unless MODE is "build", running a guest).
# usage: run.sh MODVMM BUILD_DIR SOURCE_DIR hello.elf [MODE]
. "$(dirname "$0")/../e2e/lib.sh"
MODVMM=$(realpath "$1") BUILD=$(realpath "$2") SRC=$(realpath "$3") GUEST=$(realpath "$4") MODE=${5:-run}

DEST=$T/dest
meson install -C "$BUILD" --destdir "$DEST" --no-rebuild >"$T/install.log" 2>&1 ||
	fail "meson install failed: $(tail -5 "$T/install.log")"
pc=$(find "$DEST" -name modvmm-plugin.pc | head -1)
[ -n "$pc" ] || fail "modvmm-plugin.pc was not installed"
hdr=$(find "$DEST" -path '*/modvmm/plugin.h' | head -1)
[ -n "$hdr" ] || fail "modvmm/plugin.h was not installed"
find "$DEST" -path '*/modvmm/serial.so' | grep -q . || fail "plugins not installed in a modvmm plugin dir"
# the source tree's include/ is exactly what is installed (the plugin unit tests
# build against it as if installed): the ABI in modvmm/, the port formats apart
inc=$(dirname "$(dirname "$hdr")")
(cd "$inc" && find modvmm modvmm-netmap -type f | sort) >"$T/installed"
(cd "$SRC/../../include" && find . -type f | sed 's|^\./||' | sort) >"$T/tree"
cmp -s "$T/installed" "$T/tree" || fail "installed headers differ from include/: $(diff "$T/tree" "$T/installed")"
[ "$(cd "$inc/modvmm" && ls)" = "$(printf 'net.h\nplugin.h')" ] ||
	fail "include/modvmm holds more than the plugin ABI: $(ls "$inc/modvmm")"

export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$DEST
cflags=$(pkg-config --cflags modvmm-plugin) || fail "pkg-config modvmm-plugin failed"
case $cflags in *"$DEST"*) ;; *) fail "pkg-config cflags do not point into the install tree: $cflags" ;; esac
mkdir -p "$T/plugins"
# copy the source so nothing from the source tree's include paths can leak in
cp "$SRC/sdk-hello.c" "$SRC/Makefile" "$T/"
make -s -C "$T" OUT="$T/plugins" >"$T/make.log" 2>&1 || fail "building the SDK plugin failed: $(cat "$T/make.log")"

"$MODVMM" -P "$T/plugins" plugins sdk-hello >"$T/list" || fail "modvmm does not list sdk-hello"
expect_in "$T/list" "out-of-tree example plugin"
expect_in "$T/list" "greeting"
expect_in "$T/list" "irq"

# its validate() hook and its IRQ claim, in `check` (no KVM needed)
cat >"$T/bad.ini" <<INI
[vm]
kernel = $GUEST
plugin_path = plugins
[device hello]
plugin = sdk-hello
greeting =
irq = 4
[device com1]
plugin = serial
INI
status=0
"$MODVMM" check "$T/bad.ini" 2>"$T/bad.err" || status=$?
[ "$status" = 241 ] || fail "check of a bad sdk-hello section exited $status, expected 241"
expect_in "$T/bad.err" "bad.ini:6: greeting = : must not be empty"
expect_in "$T/bad.err" "bad.ini:8: IRQ 4 of [device com1] overlaps IRQ 4 of [device hello] (line 7)"
if [ "$MODE" = build ]; then
	echo "ok: out-of-tree plugin built from the installed SDK, listed and checked"
	exit 0
fi

need_kvm
cat >"$T/vm.ini" <<INI
[vm]
name = sdk
memory = 32M
kernel = $GUEST
cmdline = exit=5
plugin_path = plugins

[device hello]
plugin = sdk-hello
greeting = from-the-sdk

[device com1]
plugin = serial
input = none

[device exit]
plugin = debug-exit
INI
"$MODVMM" check "$T/vm.ini" >/dev/null || fail "check refused the SDK plugin's config"
run_vm "$T/vm.ini"
expect_in "$T/err" "sdk-hello: instance 'hello' of VM 'sdk' greets on port 0x510 (greeting: from-the-sdk)"
expect_in "$T/out" "hello from the modvmm test guest"
[ "$status" = 5 ] || fail "exit status $status, expected 5"
echo "ok: out-of-tree plugin built from the installed SDK and loaded"
