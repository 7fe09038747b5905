#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# ee-run.sh: runs site.yml on the lab fleet the way AWX runs a job: `ansible-runner run` inside the execution
# environment (here localhost/gpufleet-lab/ee, the lab's stand-in for the RPM-based EE of execution-environment.yml;
# lab/scripts/ee-image.sh), on a private data dir mounted at /runner that holds
#   project/site.yml       a one-line playbook importing gpufleet.triton.site (the collection comes from the EE),
#   project/verify.yml     and one importing gpufleet.triton.verify;
#   project/ansible.cfg    docs/ansible.cfg, as README.md tells AWX users to put it at the project's top;
#   inventory/hosts.json   a static inventory: `ansible-inventory -i inventories/lab --list` on this host, as AWX
#                          holds an inventory it synced; without ansible_ssh_private_key_file, because
#   env/ssh_key            the fleet's SSH key reaches ssh through ssh-agent, as an AWX machine credential does;
#   env/extravars          the job's extra variables (where the checkout's model repository is, below);
#   env/settings           job_timeout (EE_RUN_TIMEOUT, default 1800 s), as a job template's timeout;
#   env/envvars            the fleet settings (pipelining, ssh_args, forks, a control-path folder of its own, as AWX
#                          gives each job) and GPUFLEET_LAB_CACHE, which the lab inventory reads.
# The container joins the docker network gpufleet-lab, where the nodes are. The lab inventory's variables name files
# on the controller (the lab's image tarball and its .sha256, the registry's CA and API key under
# $GPUFLEET_LAB_CACHE, the checkout's lab/model_repository): they are mounted read-only into the container at the
# same paths, so those variables resolve there as they do here. The stand-in runs as root because the lab keeps the
# API key 0600 (AWX runs its EE as uid 1000 and takes such secrets from credentials, README.md).
# Two jobs run, as two AWX job templates would: site.yml, then verify.yml, which reports every node's health (site.yml
# reports only the nodes it ran: a node exactly as its last run left it is skipped). Succeeds when both jobs do and
# verify.yml reports every node's every Triton instance ready; else prints the runner's stdout tail.
# The private data dir is removed on success and kept (its path printed) on failure. Needs `make lab-fleet` and
# lab/scripts/ee-image.sh.
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
root=$(cd "$LAB_DIR/.." && pwd)
BIN=${VENV:-$root/.venv}/bin
image=localhost/gpufleet-lab/ee:latest
container=gpufleet-lab-ee-run
cd "$root" || exit 1
say() { printf '[ee-run] %s\n' "$*"; }
fail() { printf '[ee-run] FAIL: %s\n' "$*" >&2; exit 1; }

docker image inspect "$image" >/dev/null 2>&1 || fail "no $image: run make ee-image (lab/scripts/ee-image.sh)"
key=$GPUFLEET_LAB_CACHE/ssh/id_ed25519
[ -f "$key" ] || fail "no fleet key $key: run make lab-fleet"

pdd=$(mktemp -d /var/tmp/gpufleet-ee-run.XXXXXX)
trap 'rm -rf "$pdd"' EXIT
mkdir -p "$pdd/project" "$pdd/inventory" "$pdd/env"

# The inventory as AWX would hold it after syncing inventories/lab (a source of the project) on its side.
"$BIN/ansible-inventory" -i inventories/lab --list >"$pdd/inventory.raw.json" 2>"$pdd/inventory.log" \
  || { cat "$pdd/inventory.log" >&2; fail "ansible-inventory -i inventories/lab --list"; }
# `--list` is an inventory script's output (_meta.hostvars: each host's variables, its groups' merged in); written
# back in the YAML inventory's structure (as JSON, which that plugin reads), values marked unsafe as plain values.
nodes=$("$BIN/python" - "$pdd/inventory.raw.json" "$pdd/inventory/hosts.json" <<'EOF'
import json, sys

def plain(value):
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value

inv = plain(json.load(open(sys.argv[1])))
hostvars = inv.pop("_meta", {}).get("hostvars", {})
for host_vars in hostvars.values():
    # The key comes from the machine credential (env/ssh_key, through ssh-agent), not from a path on the controller.
    host_vars.pop("ansible_ssh_private_key_file", None)
    host_vars.pop("ansible_private_key_file", None)
children = {}
for name, group in inv.items():
    if name in ("all", "ungrouped") or not isinstance(group, dict):
        continue
    children[name] = {"hosts": {h: None for h in group.get("hosts", [])}}
    if group.get("children"):
        children[name]["children"] = {c: {} for c in group["children"]}
static = {"all": {"hosts": hostvars, "children": children}}
json.dump(static, open(sys.argv[2], "w"), indent=1, sort_keys=True)
print(" ".join(sorted(children.get("triton_nodes", {}).get("hosts", {}))))
EOF
) || fail "cannot read the inventory"
rm -f "$pdd/inventory.raw.json" "$pdd/inventory.log"
[ -n "$nodes" ] || fail "inventories/lab lists no node (triton_nodes is empty): run make lab-fleet"

echo '- ansible.builtin.import_playbook: gpufleet.triton.site' >"$pdd/project/site.yml"
echo '- ansible.builtin.import_playbook: gpufleet.triton.verify' >"$pdd/project/verify.yml"
# The settings only an ansible.cfg can make, as README.md tells AWX users: docs/ansible.cfg at the project's top.
[ ! -f docs/ansible.cfg ] || install -m 0644 docs/ansible.cfg "$pdd/project/ansible.cfg"
install -m 0600 "$key" "$pdd/env/ssh_key"
# lab_checkout: the inventory finds the model repository from its own folder; an AWX job's inventory lives elsewhere.
printf '%s\n' '---' "lab_checkout: $root" >"$pdd/env/extravars"
# A job that hangs ends as AWX's job timeout ends it (runner's status: timeout).
printf '%s\n' '---' "job_timeout: ${EE_RUN_TIMEOUT:-1800}" >"$pdd/env/settings"
cat >"$pdd/env/envvars" <<EOF
---
ANSIBLE_PIPELINING: "True"
ANSIBLE_SSH_ARGS: -o ControlMaster=auto -o ControlPersist=60s
ANSIBLE_SSH_CONTROL_PATH_DIR: /runner/cp
ANSIBLE_FORKS: "50"
ANSIBLE_FORCE_COLOR: "False"
ANSIBLE_NOCOLOR: "True"
GPUFLEET_LAB_CACHE: $GPUFLEET_LAB_CACHE
EOF

# The controller files the inventory's variables name, read-only at the same paths.
mounts=()
for path in "$GPUFLEET_LAB_CACHE/images" "$GPUFLEET_LAB_CACHE/registry/ca.crt" "$GPUFLEET_LAB_CACHE/registry/api-key" \
            "$root/lab/model_repository"; do
  [ -e "$path" ] || fail "$path is missing: run make lab"
  mounts+=(-v "$path:$path:ro")
done

say "site.yml, then verify.yml, through ansible-runner in $image on: $nodes"
docker rm -f "$container" >/dev/null 2>&1 || true
# job NAME: runs project/NAME.yml as a job of that name (artifacts/NAME); its stdout goes to NAME.log.
job() {
  local rc=0
  docker run --rm --name "$container" --network gpufleet-lab --user 0:0 -v "$pdd:/runner" "${mounts[@]}" "$image" \
    ansible-runner run /runner --playbook "$1.yml" --ident "$1" >"$pdd/$1.log" 2>&1 || rc=$?
  echo "$rc"
}
rc=$(job site)
[ "$rc" != 0 ] || rc=$(job verify)
rm -f "$pdd/env/ssh_key"  # the private data dir outlives a failed run; the key need not

# The jobs' ends as AWX would show them: their status, and what verify.yml reported for each node.
verdict=$("$BIN/python" - "$pdd/artifacts" "$nodes" <<'EOF'
import glob, json, os, sys
artifacts, nodes = sys.argv[1], sys.argv[2].split()
def read(job, name):
    try:
        return open(os.path.join(artifacts, job, name)).read().strip()
    except OSError:
        return "?"
ready, problems = {}, []
for path in glob.glob(os.path.join(artifacts, "verify", "job_events", "*.json")):
    event = json.load(open(path))
    data = event.get("event_data", {})
    if data.get("task") != "Report the health of each instance" or event.get("event") != "runner_item_on_ok":
        continue
    ready.setdefault(data.get("host"), []).append(data.get("res", {}).get("msg", ""))
for node in nodes:
    msgs = ready.get(node, [])
    if not msgs or not all("ready=True" in m for m in msgs):
        problems.append(f"{node}: {msgs or 'no health report'}")
    for m in msgs:
        print(f"  {node}: {m}")
jobs = {job: (read(job, "status"), read(job, "rc")) for job in ("site", "verify")}
print(" ".join(f"{job}: status={st} rc={rc};" for job, (st, rc) in jobs.items())
      + ("" if not problems else " not serving: " + "; ".join(problems)))
ok = all(st == "successful" and rc == "0" for st, rc in jobs.values()) and not problems
sys.exit(0 if ok else 1)
EOF
) && ok=1 || ok=0
if [ "$ok" = 1 ] && [ "$rc" = 0 ]; then
  grep -A"$(wc -w <<<"$nodes")" '^PLAY RECAP' "$pdd/site.log" || true
  printf '%s\n' "$verdict"
  say "ok: every node serving ($(wc -w <<<"$nodes") nodes), the jobs run by ansible-runner in $image"
  exit 0
fi
trap - EXIT
for log in site verify; do
  [ -f "$pdd/$log.log" ] || continue
  echo "---- ansible-runner stdout of the $log job (tail) ----" >&2
  tail -n 60 "$pdd/$log.log" >&2
done
printf '%s\n' "$verdict" >&2
fail "the job failed (docker run exit $rc); its private data dir: $pdd"
