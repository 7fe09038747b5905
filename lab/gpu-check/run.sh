#!/usr/bin/env bash
# lab/gpu-check/run.sh: on a host with an NVIDIA GPU and a loaded driver, runs
#   1. gpufleet.triton.nvidia_driver's GPU detection and driver facts (detect.yml, verify.yml, triton_requirement.yml;
#      then preflight.yml + verify.yml; then the NVSwitch detection and the pending-reboot logic against the loaded
#      driver, with markers under /tmp) with ansible-playbook against the host itself (connection local; installs nothing),
#   2. the real tritonserver 2.51.0 (NGC 24.10) from the nvidia-pytriton 0.7.0 wheel with a KIND_GPU python-backend
#      model (model_repository/add_gpu), one HTTP inference, and the server log's GPU/CUDA lines.
# Everything lands in $OUT: driver-facts.json, preflight-facts.json, nvswitch-reboot.json, nvidia-smi.txt, nvidia-smi-q.txt,
# tritonserver.log, infer.json (and the caller's tee of this script's output, conventionally $OUT/log).
# Needs, relative to the repository root where it runs (made by lab/gpu-check/prepare.sh, both git-ignored):
#   .whl/                      ansible-core and resolvelib wheels (jinja2, pyyaml, packaging come from the host)
#   .gpucheck-payload/         triton.tar.xz (tritonserver, its libs, the python backend and its python 3.12 stub),
#                              np1/numpy-1.26.4-*.whl (this release's stub needs numpy < 2), debs/ (Ubuntu 24.04's
#                              libpython3.12t64 and libpython3.12-stdlib, unpacked under /tmp only if the host lacks them)
# Usage, from the repository root: OUT=/some/dir bash lab/gpu-check/run.sh 2>&1 | tee /some/dir/log
set -uo pipefail
set -x
OUT=${OUT:-/tmp/gpu-check-out}
mkdir -p "$OUT"
ROOT=$PWD
HERE=$ROOT/lab/gpu-check
PAY=${GPUCHECK_PAYLOAD:-$ROOT/.gpucheck-payload}
WHL=${GPUCHECK_WHEELS:-$ROOT/.whl}
W=${GPUCHECK_WORK:-/tmp/gpu-check}
PY=$(command -v python3)
PYMINOR=${GPUCHECK_PY_MINOR:-3.12}
MODEL=add_gpu
MODEL_REPO=${GPUCHECK_MODEL_REPO:-$HERE/model_repository}
HTTP_PORT=${GPUCHECK_HTTP_PORT:-18000}
rc_all=0
mkdir -p "$W"
section() { set +x; echo; echo "===== $* ====="; set -x; }

section "host"
cat /etc/os-release
uname -a
nproc; free -g; df -h /tmp /dev/shm
"$PY" -c 'import sys, sysconfig; print(sys.executable, sys.version); print("base_prefix", sys.base_prefix, "LIBDIR", sysconfig.get_config_var("LIBDIR"), "INSTSONAME", sysconfig.get_config_var("INSTSONAME"))'
type -a python3
cat "$(dirname "$(dirname "$PY")")/pyvenv.cfg" 2>/dev/null || true
"$PY" -m pip list 2>/dev/null | grep -i -E '^(jinja2|pyyaml|packaging|resolvelib|cryptography|numpy|torch|markupsafe) '
command -v dpkg-query systemctl docker curl nvidia-smi rpm || true
ls -la /dev/nvidia* || true
cat /proc/driver/nvidia/version || true
ldconfig -p | grep -E 'libpython3|libcuda\.so|libnvidia-ml' || true
set +x
echo "PCI functions with vendor 0x10de under /sys/bus/pci/devices:"
for d in /sys/bus/pci/devices/*; do
  [ "$(cat "$d/vendor" 2>/dev/null)" = 0x10de ] && echo "  ${d##*/} class=$(cat "$d/class") device=$(cat "$d/device")"
done
echo "all PCI functions: $(ls /sys/bus/pci/devices 2>/dev/null | wc -l)"
echo "ConnectX (0x15b3) functions, where NVLink5 switch management ports would be: $(grep -l 0x15b3 /sys/bus/pci/devices/*/vendor 2>/dev/null | wc -l)"
set -x

section "nvidia-smi"
nvidia-smi 2>&1 | tee "$OUT/nvidia-smi.txt"
nvidia-smi --query-gpu=index,name,uuid,pci.bus_id,driver_version,memory.total --format=csv,noheader,nounits
nvidia-smi -q > "$OUT/nvidia-smi-q.txt" 2>&1 || true

section "ansible: the role's detection and driver facts"
"$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$W/site" "$WHL"/*.whl
mkdir -p "$W/coll/ansible_collections/gpufleet"
ln -sfn "$ROOT" "$W/coll/ansible_collections/gpufleet/triton"
ans() {
  env PYTHONPATH="$W/site" LC_ALL=C.UTF-8 LANG=C.UTF-8 ANSIBLE_CONFIG="$ROOT/ansible.cfg" \
    ANSIBLE_COLLECTIONS_PATH="$W/coll" ANSIBLE_HOME="$W/ansible-home" ANSIBLE_LOCAL_TEMP="$W/ansible-tmp" \
    ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 OUT="$OUT" \
    timeout 180 "$PY" "$W/site/bin/ansible-playbook" -i localhost, -c local \
    -e ansible_python_interpreter="$PY" "$@"
}
env PYTHONPATH="$W/site" "$PY" "$W/site/bin/ansible-playbook" --version
ans -v "$HERE/driver-facts.yml" || rc_all=1
cat "$OUT/driver-facts.json" || true
# The loaded driver's branch: with it unset, preflight refuses to plan an older one (seen by triton-gpus.sh).
ans -v "$HERE/preflight-verify.yml" -e "nvidia_driver_branch=$(cut -d. -f1 /sys/module/nvidia/version)" || rc_all=1
cat "$OUT/preflight-facts.json" || true
# NVSwitches (none on a one-GPU VM is a valid result), and markers planted under /tmp against the loaded driver.
ans -v "$HERE/nvswitch-reboot.yml" || rc_all=1
cat "$OUT/nvswitch-reboot.json" || true

section "tritonserver with a KIND_GPU model"
T=${GPUCHECK_TRITON_ROOT:-$W/tritonserver}
if [ ! -x "$T/bin/tritonserver" ]; then
  time tar -C "$(dirname "$T")" -xJf "$PAY/triton.tar.xz"
fi
# The python backend stub embeds libpython$PYMINOR.so.1.0 with an isolated configuration: PYTHONPATH and PYTHONHOME are
# ignored, and the prefix comes from the first python3 on PATH (a venv's pyvenv.cfg there counts). A venv of our own,
# first on the server's PATH, gives the stub numpy < 2 ahead of whatever the host's python3 has.
base=$("$PY" -c 'import os, sys; print(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))')
SE=$W/stubenv
mkdir -p "$SE/bin"
ln -sfn "$base" "$SE/bin/python3"
printf 'home = %s\ninclude-system-site-packages = true\n' "$(dirname "$base")" > "$SE/pyvenv.cfg"
"$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target "$SE/lib/python$PYMINOR/site-packages" "$PAY"/np1/*.whl
LIBPY_DIR=""
if ldconfig -p | grep "libpython$PYMINOR\.so\.1\.0 " >/dev/null; then
  echo "libpython$PYMINOR from the system"
else
  libdir=$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR") or "")')
  for c in "$libdir" "$(dirname "$(dirname "$base")")/lib"; do
    [ -e "$c/libpython$PYMINOR.so.1.0" ] && { LIBPY_DIR=$c; break; }
  done
  if [ -z "$LIBPY_DIR" ]; then
    echo "no libpython$PYMINOR.so.1.0 on the host: unpacking the carried Ubuntu packages under $W/debroot"
    mkdir -p "$W/debroot"
    for f in "$PAY"/debs/*.deb; do dpkg -x "$f" "$W/debroot"; done
    LIBPY_DIR=$W/debroot/usr/lib/x86_64-linux-gnu
  fi
fi
LD=$T/lib
[ -n "$LIBPY_DIR" ] && LD=$LIBPY_DIR:$LD
if ! ldconfig -p | grep 'libcuda\.so\.1 ' >/dev/null; then
  for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu; do
    [ -e "$d/libcuda.so.1" ] && { LD=$LD:$d; break; }
  done
fi
EXTRA=$("$PY" -c 'import site; print(":".join(site.getsitepackages()))')
ldd "$T/backends/python/triton_python_backend_stub" | grep -E 'python|cudart|not found' || true
env LD_LIBRARY_PATH="$LD" ldd "$T/backends/python/triton_python_backend_stub" | grep -E 'python|cudart|not found' || true
env LD_LIBRARY_PATH="$LD" ldd "$T/bin/tritonserver" | grep 'not found' || true

env PATH="$SE/bin:$PATH" LD_LIBRARY_PATH="$LD${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  PYTHONDONTWRITEBYTECODE=1 GPUCHECK_EXTRA_SYSPATH="$EXTRA" \
  "$T/bin/tritonserver" --model-repository="$MODEL_REPO" --backend-directory="$T/backends" \
  --cache-directory="$T/caches" --http-port="$HTTP_PORT" --grpc-port=$((HTTP_PORT + 1)) \
  --metrics-port=$((HTTP_PORT + 2)) --log-verbose=1 --strict-readiness=true \
  >"$OUT/tritonserver.log" 2>&1 &
pid=$!
"$PY" "$HERE/infer.py" "http://127.0.0.1:$HTTP_PORT" "http://127.0.0.1:$((HTTP_PORT + 2))" "$MODEL" "$pid" 180 \
  >"$OUT/infer.json"
infer_rc=$?
[ "$infer_rc" = 0 ] || rc_all=1
cat "$OUT/infer.json"
kill -TERM "$pid" 2>/dev/null
for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null

section "tritonserver log: GPU, CUDA and model-instance lines"
grep -n -i -E 'cuda|gpu|device|nvidia|pinned|memory pool|instance|gpu-check|driver|error|fail' "$OUT/tritonserver.log" | head -150
set +x
echo
echo "===== summary ====="
echo "infer.py rc=$infer_rc overall rc=$rc_all"
exit "$rc_all"
