#!/usr/bin/env bash
# lab/gpu-check/prepare.sh: builds, in the repository root, the git-ignored folders lab/gpu-check/run.sh needs on the
# GPU host (which has no network): .whl/ (ansible-core, resolvelib) and .gpucheck-payload/ (triton.tar.xz: the
# tritonserver tree of the nvidia-pytriton 0.7.0 wheel with the python 3.12 stub; np1/: numpy 1.26.4 for cp312;
# debs/: Ubuntu 24.04's libpython3.12t64 and libpython3.12-stdlib). About 51 MB in all; the device tool's limit is 64 MiB.
# Needs PyPI and archive.ubuntu.com. Add /.whl/ and /.gpucheck-payload/ to .git/info/exclude first.
set -euo pipefail
root=$PWD
pip_dl() { python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 "$@"; }
mkdir -p .whl .gpucheck-payload/np1 .gpucheck-payload/debs
pip_dl -d .whl ansible-core=="$(sed -n 's/^ansible-core==//p' requirements.txt)" resolvelib==1.2.1
pip_dl -d .gpucheck-payload/np1 numpy==1.26.4
if [ ! -f .gpucheck-payload/triton.tar.xz ]; then
  whl=${PYTRITON_WHEEL:-/var/cache/gpufleet-lab/wheels/nvidia_pytriton-0.7.0-py3-none-manylinux_2_35_x86_64.whl}
  work=$(mktemp -d)
  python3 -m zipfile -e "$whl" "$work/whl"
  t=$work/tree/tritonserver
  mkdir -p "$t/lib"
  cp -a "$work/whl/pytriton/tritonserver/bin" "$work/whl/pytriton/tritonserver/backends" \
        "$work/whl/pytriton/tritonserver/caches" "$t/"
  # Everything but the bundled libpython 3.13 (only the 3.13 stub links it).
  cp "$work"/whl/nvidia_pytriton.libs/* "$t/lib/"
  rm -f "$t"/lib/libpython3-*.13.so.1.0
  cp "$work/whl/pytriton/tritonserver/python_backend_stubs/3.12/triton_python_backend_stub" "$t/backends/python/"
  chmod 0755 "$t/bin/tritonserver" "$t/backends/python/triton_python_backend_stub"
  tar -C "$work/tree" -cf - tritonserver | xz -T2 -6 > .gpucheck-payload/triton.tar.xz
  rm -rf "$work"
fi
n=/tmp/gpucheck-noble
mkdir -p "$n/lists/partial" "$n/cache/archives/partial"
printf 'deb [trusted=yes] http://archive.ubuntu.com/ubuntu noble main\ndeb [trusted=yes] http://archive.ubuntu.com/ubuntu noble-updates main\n' \
  > "$n/sources.list"
o=(-oDir::Etc::SourceList="$n/sources.list" -oDir::Etc::SourceParts=/dev/null -oDir::State::Lists="$n/lists"
   -oDir::Cache="$n/cache" -oAPT::Architecture=amd64 -oAPT::Architectures=amd64)
apt-get "${o[@]}" update >/dev/null
(cd .gpucheck-payload/debs && apt-get "${o[@]}" download libpython3.12t64 libpython3.12-stdlib)
du -sh "$root/.whl" "$root/.gpucheck-payload"
