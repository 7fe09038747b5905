#!/bin/sh
# Releases the triton_server role's node lock (lock.sh) only when this run holds it.
# Usage: unlock.sh LOCK HOLDER
[ "$(head -n 1 "$1" 2>/dev/null)" != "$2" ] || rm -f -- "$1"
