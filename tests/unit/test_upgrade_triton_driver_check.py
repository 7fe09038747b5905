"""playbooks/upgrade_triton.yml refuses an image a node's loaded driver does not satisfy before any node changes: the
real playbook over fake nodes (local connection, each with a "loaded driver" file of its own).

The roles of the upgrade itself are skipped by tag in every run (--skip-tags): should the check ever let a node
through here, nothing is installed or started on this machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PLAYBOOK = Path(__file__).resolve().parents[2] / "playbooks" / "upgrade_triton.yml"
IMAGE = "nvcr.io/nvidia/tritonserver:25.03-py3"  # CUDA 12.8: R570, or R535 through forward compatibility


def upgrade(ansible_bin, tmp, loaded):
    """The json report of ansible-playbook upgrade_triton.yml over nodes {name: loaded driver version}."""
    hosts = {}
    for name, version in loaded.items():
        (tmp / name).write_text(version + "\n")
        hosts[name] = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                       "fake_loaded": str(tmp / name)}  # fmt: skip
    (tmp / "hosts.yml").write_text(json.dumps({"all": {"children": {"triton_nodes": {"hosts": hosts}}}}))
    cmd = [str(Path(ansible_bin).with_name("ansible-playbook")), str(PLAYBOOK), "-i", str(tmp / "hosts.yml"),
           "-e", f"triton_server_image={IMAGE}",
           # the role's vars/main.yml names the real path; only extra vars outrank it
           "-e", "__nvidia_driver_loaded_version_path={{ fake_loaded }}",
           "--skip-tags", "ngc_login,image_cache,triton_server"]  # fmt: skip
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, check=False)
    return proc.returncode, json.loads(proc.stdout[proc.stdout.index("{") :])


def failures(play):
    results = [(host, result) for task in play["tasks"] for host, result in task["hosts"].items()]
    return {host: result["msg"] for host, result in results if result.get("failed")}


def hosts_that_ran(play):
    return {host for task in play["tasks"] for host in task["hosts"]}


def test_one_node_too_old_stops_every_node_before_any_change(ansible_bin, tmp_path):
    rc, report = upgrade(ansible_bin, tmp_path, {"node-old": "530.30.02", "node-new": "580.65.06"})
    assert rc != 0
    check, *upgrade_plays = report["plays"]
    refused = failures(check)
    assert refused["node-old"].startswith(
        f"node-old: driver 530.30.02 (branch 530) does not satisfy {IMAGE}, which needs driver 570 or later."
    )
    assert refused["node-new"].startswith("Nothing was changed on any node: node-old refused the image")
    assert all(not hosts_that_ran(play) for play in upgrade_plays), "the upgrade started on a node"


def test_nodes_whose_driver_satisfies_the_image_go_on_to_the_upgrade(ansible_bin, tmp_path):
    rc, report = upgrade(ansible_bin, tmp_path, {"node-a": "570.124.06", "node-b": "535.261.03"})
    check, *batches = report["plays"]  # the upgrade's play is reported once per batch (serial)
    assert failures(check) == {}, failures(check)
    assert rc == 0, [failures(batch) for batch in batches]
    assert set().union(*map(hosts_that_ran, batches)) == {"node-a", "node-b"}
