#!/usr/bin/env bash
# sanity.sh [ansible-test sanity args...]: runs `ansible-test sanity` on the built collection, unpacked at
# ansible_collections/gpufleet/triton (where ansible-test insists on finding it), in ansible-test's own venvs.
# ansible-test's venv bootstrap downloads get-pip from a host this lab cannot reach; a stand-in with the same
# contract (install pip, then the packages it is given) is placed in its cache first.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
venv=${VENV:-$repo/.venv}
pip_version=$("$venv/bin/python" - <<'PY'
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
print(get_venv_packages(NativePythonConfig(version="3.11"))["pip"])
PY
)
cache=~/.ansible/test/cache
mkdir -p "$cache"
standin="$cache/get_pip_${pip_version//./_}.py"
if [ ! -f "$standin" ]; then
  cat > "$standin" <<PY
# Stand-in for ansible-test's get-pip $pip_version bootstrap (the original is downloaded from an unreachable host).
# ansible-test's PYTHONPATH holds its own injected files, which pip would take for installed distributions.
import os
import subprocess
import sys

env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], env=env)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args, env=env)
PY
fi
work=$(mktemp -d /tmp/gpufleet-sanity.XXXXXX)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/gpufleet/triton"
mkdir -p "$dest"
# Sanity judges what the collection ships: the artifact `ansible-galaxy collection build` makes (build_ignore keeps
# the lab, the tests' deliberately broken model repositories and the Molecule scenarios out of it; ruff, yamllint
# and ansible-lint cover those).
(cd "$repo" && PATH="$venv/bin:$PATH" ansible-galaxy collection build --force --output-path "$work" >/dev/null)
tar -C "$dest" -xzf "$work"/gpufleet-triton-*.tar.gz
cd "$dest"
PATH="$venv/bin:$PATH" ansible-test sanity --venv --requirements --python 3.11 --color no "$@"
