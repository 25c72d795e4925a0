# Arithmetic helpers for the benchmarks (sourced after ../e2e/lib.sh).

# median: of the numbers on stdin (space or newline separated), 0 when none
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print 0}'; }
# ratio A B: A / B with two decimals, 0 when B is 0
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
# field NAME FILE: the number after " NAME " on the first line that has one
field() { sed -n "s/.* $1 \([0-9][0-9]*\).*/\1/p" "$2" | head -1; }
# mpps PACKETS CYCLES TSC-KHZ: millions of packets per second
mpps() { awk -v p="$1" -v c="$2" -v k="$3" 'BEGIN { printf "%.3f", ((c > 0 && k > 0) ? p / (c / (k * 1000.0)) / 1e6 : 0) }'; }
