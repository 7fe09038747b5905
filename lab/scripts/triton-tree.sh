#!/usr/bin/env bash
# Lays out the real tritonserver from the PyPI wheel nvidia-pytriton the way the NGC image does
# (/opt/tritonserver/{bin,lib,backends,caches}) and prints the tree's root (the folder holding opt/).
# Used for the lab's CPU Triton image and by tests that run tritonserver on the host
# (the host then needs Debian's libpython3.11 and python3-numpy: the python backend stub embeds that
# interpreter, and numpy must be < 2 or every inference answers 500).
# Usage: triton-tree.sh [PYTHON_MINOR]   (default 3.11, Debian 12's python)
source "$(dirname "$0")/common.sh"
py=${1:-3.11}
key=$(key_of "$0" -- "$LAB_PYTRITON_VERSION" "$py")
root="$GPUFLEET_LAB_CACHE/triton-tree/$key"
if [ -x "$root/opt/tritonserver/bin/tritonserver" ]; then
  echo "$root"; exit 0
fi
log "laying out tritonserver $LAB_PYTRITON_VERSION (python $py stub) in $root"
work=$(mktemp -d "$GPUFLEET_LAB_CACHE/.tree.XXXXXX")
trap 'rm -rf "$work"' EXIT
wheels="$GPUFLEET_LAB_CACHE/wheels"
mkdir -p "$wheels"
whl=$(ls "$wheels"/nvidia_pytriton-"$LAB_PYTRITON_VERSION"-*.whl 2>/dev/null | head -1 || true)
if [ -z "$whl" ]; then
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$wheels" "nvidia-pytriton==$LAB_PYTRITON_VERSION" >&2
  whl=$(ls "$wheels"/nvidia_pytriton-"$LAB_PYTRITON_VERSION"-*.whl | head -1)
fi
python3 -m zipfile -e "$whl" "$work/whl"
t="$work/root/opt/tritonserver"
mkdir -p "$t"
cp -a "$work/whl/pytriton/tritonserver/bin" "$work/whl/pytriton/tritonserver/backends" \
      "$work/whl/pytriton/tritonserver/caches" "$t/"
cp -a "$work/whl/nvidia_pytriton.libs" "$t/lib"
stub="$work/whl/pytriton/tritonserver/python_backend_stubs/$py/triton_python_backend_stub"
[ -f "$stub" ] || { log "the wheel has no python backend stub for python $py"; exit 1; }
cp "$stub" "$t/backends/python/"
# zipfile does not keep modes.
chmod 0755 "$t/bin/tritonserver" "$t/backends/python/triton_python_backend_stub"
chmod -R a+rX "$t"
mkdir -p "$(dirname "$root")"
rm -rf "$root"
mv "$work/root" "$root"
echo "$root"
