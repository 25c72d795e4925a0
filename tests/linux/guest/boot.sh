# Booted to userspace: every CPU the VMM gave is online (lt.cpus=N), and the
# kernel took the ACPI tables without an error or a warning.
. ./lib.sh
want=${LT_CPUS:-1}
n=$(grep -c ^processor /proc/cpuinfo)
[ "$n" = "$want" ] || fail "$n CPUs online ($(cat /sys/devices/system/cpu/online)), want $want"
[ "$(cat /sys/devices/system/cpu/possible)" = "$(cat /sys/devices/system/cpu/online)" ] ||
	fail "possible CPUs $(cat /sys/devices/system/cpu/possible), online $(cat /sys/devices/system/cpu/online)"
dmesg | grep -iE "ACPI( BIOS)? (Error|Warning)|ACPI.*(FAILED|failure)" && fail "the kernel complained about the ACPI tables"
dmesg | grep -q "ACPI: DSDT" || fail "no DSDT in dmesg"
say "$n CPUs online ($(cat /sys/devices/system/cpu/online)), ACPI tables accepted"
