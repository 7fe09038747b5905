"""Nodes of one run with different model repositories (group_vars or host_vars give groups their own): each node
gets its own source's models, digested and validated on the controller once per source folder.

A fleet of two nodes (sources-node-1 and -2, made with lab/fleet.yml beside the lab fleet and found by a copy of
inventories/lab with its group_vars) converged by one site.yml run, all at once: node 1's host_vars name the lab's
repository (identity and add_sub), node 2's a repository of identity alone, with a parameter that marks its copy.
Expected: node 1 serves both models, unmarked; node 2 serves its marked identity and has no add_sub.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# the benchmarks' lab helpers (an inventory for a fleet beside the lab's)
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from _lab import fleet_inventory

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv" / "bin"
IMAGE = "localhost/gpufleet-lab/debian12"
FLEET = "sources-node"
MARK = "sources_mark"
INVENTORY = Path(tempfile.mkdtemp(prefix="sources-inventory-"))
ASK = """
import json, sys, urllib.request, urllib.error
out = {}
for model in ("identity", "add_sub"):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:8000/v2/models/{model}/config", timeout=10) as r:
            out[model] = json.load(r).get("parameters", {}).get(sys.argv[1], {}).get("string_value", "")
    except urllib.error.HTTPError:
        out[model] = None
print(json.dumps(out))
"""


def playbook(*args, timeout=1800):
    env = dict(os.environ, ANSIBLE_NOCOLOR="true", ANSIBLE_FORCE_COLOR="false")
    env.pop("ANSIBLE_PYTHON_INTERPRETER", None)  # tests/conftest.py's: the controller's Python, not the nodes'
    cmd = [str(VENV / "ansible-playbook"), "-i", str(INVENTORY), *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def served(name):
    """{model: its mark ('' unmarked), or None where the node's Triton does not serve it}."""
    res = subprocess.run(["docker", "exec", name, "python3", "-c", ASK, MARK], capture_output=True, text=True,
                         check=False)  # fmt: skip
    assert res.returncode == 0, f"{name}: {res.stdout}{res.stderr}"
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, check=False).returncode != 0:
        pytest.skip(f"{IMAGE} is missing (make lab)")
    work = tmp_path_factory.mktemp("sources")
    shutil.copytree(ROOT / "lab" / "model_repository", work / "a")
    (work / "b").mkdir()
    shutil.copytree(ROOT / "lab" / "model_repository" / "identity", work / "b" / "identity")
    config = work / "b" / "identity" / "config.pbtxt"
    config.write_text(config.read_text() + f'\nparameters: {{ key: "{MARK}" value: {{ string_value: "b" }} }}\n')
    fleet_inventory(INVENTORY, FLEET)
    (INVENTORY / "host_vars").mkdir()
    (INVENTORY / "host_vars" / f"{FLEET}-1.yml").write_text(f"---\ntriton_server_model_repository_src: {work / 'a'}\n")
    # playbooks/verify.yml asks the lab's add_sub, which node 2 does not have: it asks identity there.
    verify = {"model": "identity", "request": {"inputs": [{"name": "INPUT", "shape": [1, 4], "datatype": "FP32",
                                                          "data": [1, 2, 3, 4]}]}}  # fmt: skip
    (INVENTORY / "host_vars" / f"{FLEET}-2.yml").write_text(
        json.dumps({"triton_server_model_repository_src": str(work / "b"), "triton_verify_inference": verify})
    )
    res = playbook("lab/fleet.yml", "-e", f"lab_fleet_name={FLEET}", "-e", "lab_fleet_size=2", timeout=600)
    assert res.returncode == 0, res.stdout[-3000:]
    yield [f"{FLEET}-1", f"{FLEET}-2"]
    playbook("lab/fleet.yml", "-e", f"lab_fleet_name={FLEET}", "-e", "lab_fleet_state=absent", timeout=600)
    shutil.rmtree(INVENTORY, ignore_errors=True)


def test_each_node_gets_its_own_source(fleet):
    first, second = fleet
    res = playbook("site.yml", "-e", "triton_rollout_serial=100%", "-e", "triton_server_start_timeout=900")
    assert res.returncode == 0, res.stdout[-5000:]
    assert served(first) == {"identity": "", "add_sub": ""}
    assert served(second) == {"identity": "b", "add_sub": None}
