#!/usr/bin/env bash
# mirror.sh debian|ubuntu: prints the package mirror to use for that distribution.
# Never a host written into the project: LAB_<DISTRO>_MIRROR when given, else (Debian only) the first
# archive URI of this machine's own apt configuration.
set -euo pipefail
distro=$1
var="LAB_${distro^^}_MIRROR"
if [ -n "${!var:-}" ]; then echo "${!var%/}"; exit 0; fi
if [ "$distro" != debian ]; then
  echo "[lab] no $distro mirror: set $var (this machine's apt configuration has none)" >&2; exit 2
fi
uri=$( { grep -hE '^\s*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' || true;
         grep -hE '^\s*deb\s' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
           | sed -E 's/\[[^]]*\]//' | awk '{print $2}' || true; } | grep -v -- '-security' | head -1 || true)
[ -n "$uri" ] || { echo "[lab] no Debian mirror in /etc/apt: set $var" >&2; exit 2; }
echo "${uri%/}"
