# Shared settings of the lab scripts (sourced, not run).
# Artifacts live outside the checkout so that a fresh clone (CI) reuses what an earlier run built;
# every artifact is keyed by the hash of its inputs and rebuilt only when they change.
set -euo pipefail
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export LAB_DIR
export GPUFLEET_LAB_CACHE=${GPUFLEET_LAB_CACHE:-/var/cache/gpufleet-lab}
mkdir -p "$GPUFLEET_LAB_CACHE"

# Triton as NGC ships it in release 24.10 is 2.51.0; the PyPI wheel nvidia-pytriton 0.7.0 carries that server.
export LAB_PYTRITON_VERSION=${LAB_PYTRITON_VERSION:-0.7.0}
export LAB_TRITON_REPOSITORY=${LAB_TRITON_REPOSITORY:-nvcr.io/nvidia/tritonserver}
export LAB_TRITON_TAG=${LAB_TRITON_TAG:-24.10-py3-lab-cpu}

log() { printf '[lab] %s\n' "$*" >&2; }

# key_of FILE... [-- STRING...]: a short hash of the files' contents and the strings.
key_of() {
  local files=() strings=()
  while [ $# -gt 0 ]; do
    if [ "$1" = "--" ]; then shift; strings=("$@"); break; fi
    files+=("$1"); shift
  done
  { cat "${files[@]}"; printf '%s\n' "${strings[@]}"; } | sha256sum | cut -c1-16
}
