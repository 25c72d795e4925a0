# Console input reaches the guest: print READY, read one line from the
# serial console and compare it with lt.word.
. ./lib.sh
say "READY console"
read -r line || fail "no line from the console"
[ "$line" = "$LT_WORD" ] || fail "read '$line' from the console, want '$LT_WORD'"
say "console input '$line' received"
