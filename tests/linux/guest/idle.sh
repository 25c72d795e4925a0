# Nothing to do but wait: the host ends this guest (power button, kill).
. ./lib.sh
say "READY idle"
while :; do sleep 1; done
