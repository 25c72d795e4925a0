#!/bin/bash
# The command line: --help, --version, plugins, check (good and bad files).
# usage: cli.sh MODVMM hello.elf
. "$(dirname "$0")/lib.sh"
MODVMM=$(realpath "$1") GUEST=$(realpath "$2")

"$MODVMM" --help >"$T/help" || fail "--help failed"
for word in "run FILE.ini" "check FILE.ini" "plugins [NAME]" "--verbose" "--plugin-path"; do
	expect_in "$T/help" "$word"
done
"$MODVMM" --version >"$T/version" || fail "--version failed"
expect_in "$T/version" "plugin ABI 2."

# uninstalled, the build tree's plugins are found without any environment variable
env -u MODVMM_PLUGIN_PATH "$MODVMM" plugins >"$T/plugins" || fail "plugins failed"
expect_in "$T/plugins" "serial"
expect_in "$T/plugins" "debug-exit"
"$MODVMM" plugins serial >"$T/serial" || fail "plugins serial failed"
expect_in "$T/serial" "port             ioport    0x3f8"
"$MODVMM" plugins no-such-plugin 2>"$T/err" && fail "plugins no-such-plugin succeeded"
expect_in "$T/err" "plugin 'no-such-plugin' not found"

cat >"$T/good.ini" <<INI
[vm]
kernel = $GUEST
[device com1]
plugin = serial
INI
"$MODVMM" check "$T/good.ini" >"$T/out" || fail "check of a good file failed"
expect_in "$T/out" "ok"

cat >"$T/bad.ini" <<INI
[vm]
kernel = $GUEST
memory = 12Q
[device com1]
plugin = serial
[device com2]
plugin = serial
INI
status=0
"$MODVMM" check "$T/bad.ini" 2>"$T/err" || status=$?
[ "$status" = 241 ] || fail "check of a bad file exited $status, expected 241"
expect_in "$T/err" "$T/bad.ini:3: memory = 12Q"
expect_in "$T/err" "$T/bad.ini:6: ports 0x3f8-0x3ff of [device com2] overlaps"
# run refuses the same file before starting anything
status=0
"$MODVMM" run "$T/bad.ini" >"$T/out" 2>"$T/err" || status=$?
[ "$status" = 241 ] || fail "run of a bad file exited $status, expected 241"
[ ! -s "$T/out" ] || fail "run of a bad file printed guest output"
# options anywhere on the command line
"$MODVMM" check "$T/good.ini" -v >"$T/out" 2>"$T/err" || fail "check FILE -v failed: $(cat "$T/err")"
expect_in "$T/out" "ok"
"$MODVMM" plugins serial --plugin-path "$T" >"$T/out" || fail "plugins NAME --plugin-path DIR failed"
# modvmm's own failures have their own exit statuses (240-243), each with its reason
usage_error() {
	status=0
	"$MODVMM" "$@" >"$T/out" 2>"$T/err" </dev/null || status=$?
	[ "$status" = 240 ] || fail "modvmm $*: exit status $status, expected 240"
}
usage_error frobnicate
expect_in "$T/err" "unknown command 'frobnicate'"
usage_error
expect_in "$T/err" "no command given"
usage_error check
expect_in "$T/err" "'check' takes one FILE.ini, got none"
usage_error run a.ini b.ini
expect_in "$T/err" "'run' takes one FILE.ini, got more"
usage_error --no-such-option run "$T/good.ini"
expect_in "$T/err" "no-such-option"
status=0
"$MODVMM" check "$T/no-such.ini" 2>"$T/err" || status=$?
[ "$status" = 241 ] || fail "check of a missing file exited $status, expected 241"
expect_in "$T/err" "$T/no-such.ini: cannot open: No such file or directory"
# the commands for a running VM: usage errors exit 240, a VM that is not there 1
usage_error status
expect_in "$T/err" "'status' needs a VM"
usage_error swap vm nic0
expect_in "$T/err" "'swap' needs VM DEVICE --backend PLUGIN"
usage_error status vm --watch
expect_in "$T/err" "--watch goes with 'stats'"
usage_error stats vm --interval 0
expect_in "$T/err" "--interval wants seconds"
usage_error run "$T/good.ini" --json
expect_in "$T/err" "go with the commands for a running VM"
status=0
MODVMM_RUNDIR=$T/run "$MODVMM" status nosuch 2>"$T/err" || status=$?
[ "$status" = 1 ] || fail "status of a missing VM exited $status, expected 1"
expect_in "$T/err" "no VM answers at $T/run/nosuch/control.sock"
MODVMM_RUNDIR=$T/run "$MODVMM" list >"$T/out" || fail "list with no VM failed"
expect_in "$T/out" "(no VM answers under $T/run)"
"$MODVMM" --help >"$T/help"
for word in "list " "status VM" "stats VM [DEVICE]" "pause VM" "resume VM" "stop VM" "events VM" \
	"swap VM DEVICE --backend PLUGIN [KEY=VALUE ...]" "--json" "--watch"; do
	expect_in "$T/help" "$word"
done
for word in "240  bad command line" "241  the INI file is refused" "242  the VM could not start" "243  the VM failed"; do
	expect_in "$T/help" "$word"
done
echo "ok: command line"
