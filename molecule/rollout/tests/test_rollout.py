"""Bad rollouts never take a serving node down (run against the converged 2-node fleet)."""

import json
import os
import subprocess
from pathlib import Path

import pytest
import testinfra

SCENARIO = Path(__file__).resolve().parent.parent
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
NODES = ["rollout-1", "rollout-2"]


def node(name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")


def repository_files(host):
    return host.check_output("find /srv/triton/models -type f | sort | xargs sha256sum")


def container_id(host):
    return json.loads(host.check_output("docker inspect triton-server-main"))[0]["Id"]


def identity_answer(host):
    body = json.dumps({"inputs": [{"name": "INPUT", "shape": [1, 3], "datatype": "FP32", "data": [7, 8, 9]}]})
    out = host.run(f"curl -s -m 10 -X POST -d '{body}' http://127.0.0.1:8000/v2/models/identity/infer")
    return json.loads(out.stdout)


RUN_SCRIPT = "/etc/triton-server/main/run"


def deploy(repo, *extra):
    return subprocess.run(
        ["ansible-playbook", "-i", INVENTORY, str(SCENARIO / "deploy.yml"), "-e", f"rollout_repo={repo}", *extra],
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ,
        check=False,
    )


@pytest.fixture(scope="module")
def before():
    hosts = {n: node(n) for n in NODES}
    for host in hosts.values():
        assert identity_answer(host)["outputs"][0]["data"] == [7.0, 8.0, 9.0]
    return {n: (h, container_id(h), repository_files(h), h.file(RUN_SCRIPT).content_string) for n, h in hosts.items()}


def test_rejected_repository_stops_before_any_restart(before):
    run = deploy("broken_config")
    assert run.returncode != 0
    out = run.stdout + run.stderr
    # The validator's verdict names the file, line and column, as Triton's parser would.
    assert "identity/config.pbtxt" in out
    assert ":6:" in out
    for host, cid, files, _run in before.values():
        assert container_id(host) == cid, "a rejected repository restarted Triton"
        assert repository_files(host) == files
        assert identity_answer(host)["outputs"][0]["data"] == [7.0, 8.0, 9.0]


def test_repository_failing_in_triton_is_rolled_back_and_the_batch_stops(before):
    # The change also rewrites the run script (another log level), so the rollback must restore it from its backup.
    run = deploy("fails_at_load", "-e", "triton_server_log_verbose=1")
    assert run.returncode != 0
    out = run.stdout + run.stderr
    assert "weights file /models/identity/1/weights.bin not found" in out
    assert "Rolled back" in out
    first, first_cid, first_files, first_run = before["rollout-1"]
    # The first node tried the change, failed its gate and serves the previous models and run script again.
    assert container_id(first) != first_cid
    assert repository_files(first) == first_files
    assert identity_answer(first)["outputs"][0]["data"] == [7.0, 8.0, 9.0]
    assert "--log-verbose=1" not in first_run
    assert first.file(RUN_SCRIPT).content_string == first_run
    assert first.file(RUN_SCRIPT).mode == 0o700
    args = json.loads(first.check_output("docker inspect triton-server-main"))[0]["Args"]
    assert "--log-verbose=1" not in args
    assert first.file("/srv/triton/models.failed/identity/1/model.py").contains("weights.bin")
    # The batch stopped: the second node never saw the change.
    second, second_cid, second_files, second_run = before["rollout-2"]
    assert container_id(second) == second_cid
    assert repository_files(second) == second_files
    assert second.file(RUN_SCRIPT).content_string == second_run
    assert "rollout-2" not in [line.split()[0] for line in out.splitlines() if "changed=" in line and "failed=" in line]
