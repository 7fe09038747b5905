"""The converge stamp sees every hand change to what the roles manage, and the next run repairs it (SSH lab fleet).

What the roles manage is their manifests, `__<role>_stamp` in roles/*/vars/main.yml, which site.yml's last task
templates for the node and records in the node's stamp (`spec`, with a `snapshot` of every file below its paths).
On a one-node fleet of its own (stamp-node-1, made with lab/fleet.yml beside the lab's), converged by site.yml, the
test reads that stamp and changes by hand, a few at a time (the find-nodes play names up to 5 differences of a kind):
every file's content, every file's and folder's mode, a file where the manifest lists an absent path, every enabled
unit (disabled). Each time the find-nodes play (site.yml --tags never: the read-only play and no role) must select
the node and name each changed item; the test then undoes the change by hand. Last, all at once: every unit stopped,
every image removed, every package removed (dpkg --force-depends). The find-nodes play names each again; one
site.yml run repairs them all, the node's snapshot equals the first one, and a further run leaves the node alone.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

# the benchmarks' lab helpers (an inventory for a fleet beside the lab's)
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from _lab import fleet_inventory

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv" / "bin"
IMAGE = "localhost/gpufleet-lab/debian12"
FLEET = "stamp-node"
NODE = f"{FLEET}-1"
STAMP = "/var/lib/gpufleet/converged.json"
PER_KIND = 5  # differences the find-nodes play names per kind (module_utils/_converge_stamp.py, differences())
WHY = "Say why each node runs or does not"
NOTHING_TO_DO = "nothing to do"
INVENTORY = Path(tempfile.mkdtemp(prefix="stamp-inventory-"))


def playbook(*args, json_output=False, timeout=2400):
    env = dict(os.environ, ANSIBLE_NOCOLOR="true", ANSIBLE_FORCE_COLOR="false")
    env.pop("ANSIBLE_PYTHON_INTERPRETER", None)  # tests/conftest.py's: the controller's Python, not the nodes'
    if json_output:
        env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
    cmd = [str(VENV / "ansible-playbook"), "-i", str(INVENTORY), *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def on_node(script, check=True):
    res = subprocess.run(["docker", "exec", NODE, "sh", "-ec", script], capture_output=True, text=True, check=False)
    if check:
        assert res.returncode == 0, f"{NODE}: {script}\n{res.stdout}{res.stderr}"
    return res


def read_stamp():
    return json.loads(on_node(f"cat {STAMP}").stdout)


class Fleet:
    def __init__(self, models):
        self.models = models

    def site(self, *args, **kw):
        # Triton's start may take longer than the lab's 180 s on a machine that runs other jobs; every run of this
        # test has the same setting, so their inputs' digests are equal.
        extra = ["-e", f"triton_server_model_repository_src={self.models}", "-e", "triton_server_start_timeout=900"]
        return playbook("site.yml", *extra, *args, **kw)

    def run(self, *args):
        """site.yml: (the find-nodes play's reasons for the node, the node's changed count)."""
        res = self.site(*args, json_output=True)
        assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
        out = json.loads(res.stdout)
        for play in out["plays"]:
            for task in play["tasks"]:
                if task["task"]["name"] == WHY:
                    return task["hosts"][NODE]["msg"], out["stats"][NODE]["changed"]
        raise AssertionError(f"no task {WHY!r} in the output")

    def why(self):
        """The find-nodes play's reasons for the node, from site.yml with no role (--tags never: the find-nodes
        play's tasks are tagged always; the rollout's roles are not)."""
        return self.run("--tags", "never")[0]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, check=False).returncode != 0:
        pytest.skip(f"{IMAGE} is missing (make lab)")
    models = tmp_path_factory.mktemp("stamp") / "models"
    shutil.copytree(ROOT / "lab" / "model_repository", models)
    fleet_inventory(INVENTORY, FLEET)
    res = playbook("lab/fleet.yml", "-e", f"lab_fleet_name={FLEET}", "-e", "lab_fleet_size=1", timeout=600)
    assert res.returncode == 0, res.stdout[-3000:]
    node = Fleet(models)
    res = node.site()
    assert res.returncode == 0, res.stdout[-5000:]
    yield node
    playbook("lab/fleet.yml", "-e", f"lab_fleet_name={FLEET}", "-e", "lab_fleet_state=absent", timeout=600)
    shutil.rmtree(INVENTORY, ignore_errors=True)


def test_every_manifest_is_recorded():
    """Each role's manifest reaches the stamp: site.yml's stamp task reads every `__<role>_stamp` there is."""
    site = (ROOT / "playbooks" / "site.yml").read_text()
    manifests = {}
    for path in sorted(ROOT.glob("roles/*/vars/main.yml")):
        role = path.parts[-3]
        data = yaml.safe_load(path.read_text()) or {}
        if f"__{role}_stamp" in data:
            manifests[role] = data[f"__{role}_stamp"]
    assert len(manifests) >= 6, manifests.keys()
    for role, manifest in manifests.items():
        assert f"__{role}_stamp" in site, f"site.yml does not record {role}'s manifest"
        assert {"paths", "services", "packages"} <= set(manifest), f"{role}'s manifest lacks a kind: {manifest}"


class Change:
    """One change by hand: the kind and item the find-nodes play must name, and the shell to make and undo it."""

    def __init__(self, kind, item, make, undo=""):
        self.kind, self.item, self.make, self.undo = kind, item, make, undo

    def named_in(self, reasons):
        return any(r.startswith(f"{self.kind} {self.item}: ") for r in reasons)


def changes_to_undo(stamp):
    """Every file's content and mode, every folder's mode, a file at each absent path (where its folder exists), every
    enabled unit disabled: each undone by hand after it was seen."""
    changes = []
    q = shlex.quote
    for path, what in sorted(stamp["snapshot"]["paths"].items()):
        kind = what.split(" ", 1)[0]
        if kind in ("file", "dir"):
            mode = int(what.rsplit(" ", 1)[1], 8)
            changes.append(Change("path", path, f"chmod {mode ^ 0o010:o} {q(path)}", f"chmod {mode:o} {q(path)}"))
        if kind == "file":
            size = int(on_node(f"stat -c %s {q(path)}").stdout)
            changes.append(
                Change("path", path, f"printf '\\n# changed by hand\\n' >> {q(path)}", f"truncate -s {size} {q(path)}")
            )
        if kind == "absent" and on_node(f"test -d {q(os.path.dirname(path))}", check=False).returncode == 0:
            changes.append(Change("path", path, f"echo by-hand > {q(path)}", f"rm -f {q(path)}"))
    for unit, state in sorted(stamp["snapshot"]["services"].items()):
        if state.endswith(" enabled"):
            changes.append(Change("service", unit, f"systemctl disable -q {q(unit)}", f"systemctl enable -q {q(unit)}"))
    return changes


def rounds(changes):
    """changes in groups with at most PER_KIND of a kind and one change of an item."""
    groups = []
    for change in changes:
        for group in groups:
            same_kind = [c for c in group if c.kind == change.kind]
            if len(same_kind) < PER_KIND and all(c.item != change.item for c in group):
                group.append(change)
                break
        else:
            groups.append([change])
    return groups


def final_changes(stamp):
    """At once, left for the run to repair: every unit stopped, every image removed, every package removed (its
    dependants kept: --force-depends). (changes, the shell that makes them)."""
    q = shlex.quote
    units = sorted(stamp["snapshot"]["services"])
    images = [i for i, state in sorted(stamp["snapshot"]["images"].items()) if state == "present"]
    packages = [p for p, version in sorted(stamp["snapshot"]["packages"].items()) if version != "absent"]
    for kind, items in (("service", units), ("image", images), ("package", packages)):
        assert len(items) <= PER_KIND, f"more {kind}s than the find-nodes play names at once: {items}"
    engine = [u for u in units if u.startswith("docker")]
    # Triton's units first (an image in use cannot be removed), the engine last (with its socket, which would start
    # it again at the next docker call).
    script = "".join(f"systemctl stop {q(u)}; " for u in units if u not in engine)
    script += "".join(f"docker image rm -f {q(i)} >/dev/null; " for i in images)
    script += "systemctl stop docker.socket 2>/dev/null || true; " + "".join(f"systemctl stop {q(u)}; " for u in engine)
    if packages:
        script += "dpkg --remove --force-depends " + " ".join(map(q, packages)) + " >/dev/null 2>&1"
    changes = [Change("service", u, "") for u in units]
    changes += [Change("image", i, "") for i in images]
    changes += [Change("package", p, "") for p in packages]
    return changes, script


def test_hand_changes_are_seen_and_repaired(fleet):
    before = read_stamp()
    spec = before["spec"]
    for kind in ("paths", "services", "images", "endpoints", "models"):
        assert spec[kind], f"the stamp lists no {kind}: {spec}"
    assert any(w.startswith("file ") for w in before["snapshot"]["paths"].values())
    assert fleet.why() == [f"{NOTHING_TO_DO}: exactly as its last complete run left it, Triton ready with its models"]

    for group in rounds(changes_to_undo(before)):
        on_node("; ".join(c.make for c in group))
        try:
            reasons = fleet.why()
        finally:
            on_node("; ".join(c.undo for c in group))
        missed = [f"{c.kind} {c.item} ({c.make})" for c in group if not c.named_in(reasons)]
        assert not missed, f"not named: {missed}; reasons: {reasons}"
    assert fleet.why()[0].startswith(NOTHING_TO_DO), "the changes undone by hand left a difference"

    changes, script = final_changes(before)
    on_node(script)
    reasons = fleet.why()
    missed = [f"{c.kind} {c.item}" for c in changes if not c.named_in(reasons)]
    assert not missed, f"not named: {missed}; reasons: {reasons}"
    assert any(r.startswith("endpoint ") for r in reasons), reasons

    res = fleet.site()
    assert res.returncode == 0, res.stdout[-5000:]
    after = read_stamp()
    assert after["digest"] == before["digest"] and after["converged_at"] > before["converged_at"]
    assert after["snapshot"] == before["snapshot"], {
        kind: {k: (before["snapshot"][kind].get(k), v) for k, v in after["snapshot"][kind].items()
               if before["snapshot"][kind].get(k) != v}
        for kind in ("paths", "services", "packages", "images", "endpoints")
    }  # fmt: skip
    reasons, changed = fleet.run()
    assert reasons[0].startswith(NOTHING_TO_DO) and changed == 0, (reasons, changed)
