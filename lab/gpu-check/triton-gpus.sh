#!/usr/bin/env bash
# lab/gpu-check/triton-gpus.sh: on a host with NVIDIA GPUs and a loaded driver (no Docker or systemd needed), runs
#   1. triton_server's instance checks against the host's real GPUs (triton-gpus.yml), once per case: GPUs by index,
#      by the UUID nvidia-smi reports, "all", and three the host lacks or that are malformed;
#   2. nvidia_driver's preflight (preflight-verify.yml) with nvidia_driver_branch unset, which must refuse to plan a
#      driver older than the loaded one, then with the loaded branch given, which must pass.
# Needs .whl/ (ansible-core, resolvelib; made by prepare.sh). For a dry run without a GPU: a fake nvidia-smi first on
# PATH, GPUCHECK_LOADED_VERSION (a version file) and GPUCHECK_ANSIBLE_ARGS (-e for the fake sysfs and version paths). Writes $OUT/triton-gpus.txt. Exit 0 only when every
# case ended as expected. Usage, from the repository root: OUT=/some/dir bash lab/gpu-check/triton-gpus.sh
set -uo pipefail
OUT=${OUT:-/tmp/gpu-check-out}
mkdir -p "$OUT"
ROOT=$PWD
HERE=$ROOT/lab/gpu-check
W=${GPUCHECK_WORK:-/tmp/gpu-check}
PY=$(command -v python3)
mkdir -p "$W/coll/ansible_collections/gpufleet"
"$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$W/site" "$ROOT/.whl"/*.whl
ln -sfn "$ROOT" "$W/coll/ansible_collections/gpufleet/triton"
ans() {
  env PYTHONPATH="$W/site" LC_ALL=C.UTF-8 LANG=C.UTF-8 ANSIBLE_CONFIG="$ROOT/ansible.cfg" \
    ANSIBLE_COLLECTIONS_PATH="$W/coll" ANSIBLE_HOME="$W/ansible-home" ANSIBLE_LOCAL_TEMP="$W/ansible-tmp" \
    ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 OUT="$OUT" \
    timeout 180 "$PY" "$W/site/bin/ansible-playbook" -i localhost, -c local -e ansible_python_interpreter="$PY" \
    ${GPUCHECK_ANSIBLE_ARGS:-} "$@"
}
nvidia-smi --query-gpu=index,name,uuid,pci.bus_id --format=csv,noheader | tee "$OUT/triton-gpus.txt"
UUID=$(nvidia-smi --query-gpu=uuid --format=csv,noheader | head -1)
COUNT=$(nvidia-smi --query-gpu=uuid --format=csv,noheader | wc -l)
fails=0
# case name, expected (ok or the start of the failure), triton_server_instances as JSON
check() {
  local name=$1 want=$2 instances=$3 out line
  out=$(ans "$HERE/triton-gpus.yml" -e "{\"triton_server_instances\": $instances}" 2>&1)
  line=$(printf '%s\n' "$out" | grep -o -E '"?(msg|fail_msg)"?: .*instances ok: .*|triton_server_instances\[[0-9]+\] .*' | head -1)
  [ -n "$line" ] || line=$(printf '%s\n' "$out" | grep -E 'msg|ERROR' | head -3 | tr '\n' ' ')
  if [[ $want == ok && $line == *"instances ok:"* ]] || [[ $want != ok && $line == *"$want"* ]]; then
    verdict=as-expected
  else
    verdict=UNEXPECTED; fails=$((fails + 1)); printf '%s\n' "$out" | tail -30
  fi
  printf '%-12s %-11s %s\n' "$name" "$verdict" "$line" | tee -a "$OUT/triton-gpus.txt"
}
check by-index ok '[{"name": "g0", "gpus": [0]}]'
check by-uuid ok "[{\"name\": \"g0\", \"gpus\": [\"$UUID\"]}]"
check all ok '[{"name": "main", "gpus": "all"}]'
check past-last "GPU index $COUNT does not exist" "[{\"name\": \"g0\", \"gpus\": [0]}, {\"name\": \"gx\", \"gpus\": [$COUNT], \"http_port\": 8100, \"grpc_port\": 8101, \"metrics_port\": 8102}]"
check bad-uuid "GPU-00000000-0000-0000-0000-000000000000 is not a GPU of localhost (its GPUs: $UUID" \
  '[{"name": "g0", "gpus": ["GPU-00000000-0000-0000-0000-000000000000"]}]'
check malformed "MIG devices (0:1, MIG-...) or [] for CPU only" '[{"name": "g0", "gpus": ["gpu0"]}]'

loaded=$(cut -d. -f1 "${GPUCHECK_LOADED_VERSION:-/sys/module/nvidia/version}" 2>/dev/null)
out=$(ans -v "$HERE/preflight-verify.yml" 2>&1); rc=$?
line=$(printf '%s\n' "$out" | grep -o -E 'Driver [0-9.]+ is loaded on localhost.*' | head -1)
if [ "$rc" != 0 ] && [ -n "$line" ]; then verdict=as-expected; else verdict=UNEXPECTED; fails=$((fails + 1)); printf '%s\n' "$out" | tail -40; fi
printf '%-12s %-11s rc=%s %s\n' "branch-unset" "$verdict" "$rc" "$line" | tee -a "$OUT/triton-gpus.txt"
out=$(ans -v "$HERE/preflight-verify.yml" -e "nvidia_driver_branch=$loaded" 2>&1); rc=$?
line=$(printf '%s\n' "$out" | grep -E 'PLAY RECAP' -A1 | tail -1 | tr -s ' ')
if [ "$rc" = 0 ]; then verdict=as-expected; else verdict=UNEXPECTED; fails=$((fails + 1)); printf '%s\n' "$out" | tail -40; fi
printf '%-12s %-11s rc=%s branch=%s %s\n' "branch-$loaded" "$verdict" "$rc" "$loaded" "$line" | tee -a "$OUT/triton-gpus.txt"
cat "$OUT/preflight-facts.json" 2>/dev/null | head -40
echo "unexpected: $fails"
exit "$fails"
