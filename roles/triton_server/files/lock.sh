#!/bin/sh
# Takes the triton_server role's node lock: one run of the role at a time per node (a timer and an operator, two AWX
# jobs would share the staging folder and the .previous one).
# Usage: lock.sh LOCK HOLDER STALE WAIT
# Creates LOCK holding HOLDER only where no file is (noclobber). While another run holds it, waits up to WAIT
# seconds, breaks it once it is STALE seconds old (0: never), else exits 4. Exits 5 when LOCK cannot be created.
# Says why on stderr: "lock-held ...", "lock-broken ...", "lock-error ...".
lock=$1; holder=$2; stale=$3; wait=$4
waited=0; tries=0
while ! err=$( (set -C; printf '%s\n' "$holder" > "$lock") 2>&1 ); do
  if [ ! -e "$lock" ]; then
    tries=$((tries + 1))
    if [ "$tries" -lt 3 ]; then continue; fi
    echo "lock-error $err" >&2; exit 5
  fi
  held=$(head -n 1 "$lock" 2>/dev/null)
  age=$(( $(date +%s) - $(stat -c %Y "$lock" 2>/dev/null || date +%s) ))
  if [ "$stale" -gt 0 ] && [ "$age" -ge "$stale" ]; then
    echo "lock-broken $lock was held by $held for $age s" >&2; rm -f "$lock"; continue
  fi
  if [ "$waited" -ge "$wait" ]; then echo "lock-held $lock is held by $held for $age s" >&2; exit 4; fi
  sleep 5; waited=$((waited + 5))
done
