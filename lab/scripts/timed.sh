#!/usr/bin/env bash
# timed.sh NAME CMD...: runs CMD and prints "[time] NAME: Ns" whatever its outcome, keeping its exit status.
name=$1; shift
start=$(date +%s)
"$@"; rc=$?
echo "[time] $name: $(( $(date +%s) - start ))s (exit $rc)"
exit $rc
