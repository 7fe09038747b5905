#!/bin/sh
# Swaps staged models into a model repository; every rename stays within one filesystem.
# Usage: swap.sh REPOSITORY PREVIOUS STAGING N MODEL...
# The first N models are changed (each moves in from STAGING), the rest are removed. Each replaced or removed model
# moves aside to PREVIOUS first, and is printed, one name a line. Every staged model is checked before anything moves
# (exit 3): a half-done swap would leave the repository without a model.
set -eu
repo=$1; prev=$2; staging=$3; n=$4; shift 4
i=0
for m in "$@"; do
  i=$((i + 1))
  if [ "$i" -le "$n" ] && [ ! -d "$staging/$m" ]; then
    echo "the staged model $staging/$m is gone (another run of the role on this node?); nothing was swapped" >&2
    exit 3
  fi
done
mkdir -p "$prev"
for m in "$@"; do
  rm -rf "${prev:?}/${m:?}"
  if [ -e "$repo/$m" ]; then mv -T "$repo/$m" "$prev/$m"; echo "$m"; fi
done
i=0
for m in "$@"; do
  i=$((i + 1))
  if [ "$i" -le "$n" ]; then mv -T "$staging/$m" "$repo/$m"; fi
done
