#!/usr/bin/env bash
# host-packages.sh PKG...: installs the Debian packages the lab and the tests need on this machine (root),
# skipping the apt round-trip when every one is already installed.
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "[lab] host packages present"; exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "[lab] need root to install: ${missing[*]}" >&2; exit 1; }
echo "[lab] installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
