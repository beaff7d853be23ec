#!/usr/bin/env bash
# Run a command with no network but loopback (a new network namespace), where the machine allows
# it; otherwise run it as it is (the course's own TLW_OFFLINE=1 still forbids downloads).
if command -v unshare >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 \
   && unshare -n sh -c 'ip link set lo up' >/dev/null 2>&1; then
  exec unshare -n sh -c 'ip link set lo up && exec "$@"' offline "$@"
fi
echo "note: no network namespace here; running with the network (downloads still forbidden)" >&2
exec "$@"
