"""Bad rollouts never take a serving node down (run against the converged 2-node fleet)."""

import base64
import json
import os
import shutil
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
# Every file the role writes, with the mode it must have after a rollback too.
WRITTEN = {
    RUN_SCRIPT: 0o700,
    "/etc/triton-server/main/stop": 0o700,
    "/etc/triton-server/main/started": 0o700,
    "/etc/triton-server/env": 0o600,
    "/etc/triton-server/lb-request.py": 0o600,
    "/etc/triton-server/lb-headers.json": 0o600,
    "/etc/systemd/system/triton-server@.service": 0o644,
}


def written(host):
    return {path: (host.file(path).content_string, host.file(path).mode) for path in WRITTEN}


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
        assert not host.file(LOCK).exists, "converge left the node locked"
    for host in hosts.values():
        assert {path: mode for path, (_text, mode) in written(host).items()} == WRITTEN
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
    # The change also rewrites the run script (another log level), the unit, the stop and started scripts and the
    # headers file (a drain and a rejoin URL, with a secret header): the rollback must restore each from its backup.
    hooks = {
        "triton_server_drain_url": "http://127.0.0.1:9/drain",
        "triton_server_rejoin_url": "http://127.0.0.1:9/rejoin",
        "triton_server_lb_headers": {"Authorization": "Bearer rollout-lb-secret"},
    }
    previous = written(before["rollout-1"][0])
    run = deploy("fails_at_load", "-e", "triton_server_log_verbose=1", "-e", json.dumps(hooks))
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
    assert written(first) == previous
    leftovers = first.run("ls -A /etc/triton-server /etc/triton-server/main /etc/systemd/system | grep '~$'").stdout
    assert leftovers == "", "a backup (the headers' secret in one of them) stayed behind"
    assert "rollout-lb-secret" not in out
    args = json.loads(first.check_output("docker inspect triton-server-main"))[0]["Args"]
    assert "--log-verbose=1" not in args
    assert first.file("/srv/triton/models.failed/identity/1/model.py").contains("weights.bin")
    # The batch stopped: the second node never saw the change.
    second, second_cid, second_files, second_run = before["rollout-2"]
    assert container_id(second) == second_cid
    assert repository_files(second) == second_files
    assert second.file(RUN_SCRIPT).content_string == second_run
    assert "rollout-2" not in [line.split()[0] for line in out.splitlines() if "changed=" in line and "failed=" in line]
    assert not first.file(LOCK).exists, "the failed run left the node locked"


LOCK = "/run/triton-server.lock"
OTHER_RUN = "ops@other-controller, run started 2026-11-26T09:00:00Z #7"


def test_a_run_holding_the_node_lock_keeps_another_run_off_the_node(before):
    # The test above restarted rollout-1 (its rollback): compare with what serves now.
    first, _cid, first_files, first_run = before["rollout-1"]
    first_cid = container_id(first)
    first.check_output(f"printf '%s\\n' '{OTHER_RUN}' > {LOCK}")
    try:
        run = deploy("fails_at_load", "-e", "triton_server_log_verbose=1")
        assert run.returncode != 0
        out = " ".join((run.stdout + run.stderr).split())
        assert f"Another run of triton_server is changing this node ({LOCK} is held by {OTHER_RUN} for" in out
        assert "this run changed nothing" in out
        assert container_id(first) == first_cid
        assert repository_files(first) == first_files
        assert first.file(RUN_SCRIPT).content_string == first_run
        assert first.file(LOCK).content_string == OTHER_RUN + "\n", "a run released a lock it did not hold"
        second, second_cid, _files, _run = before["rollout-2"]
        assert container_id(second) == second_cid

        # The holder died two hours ago: a run told that locks go stale after an hour breaks it and goes on.
        first.check_output(f"touch -d '2 hours ago' {LOCK}")
        run = deploy("good", "-e", "triton_server_lock_stale_after=3600")
        assert run.returncode == 0, run.stdout[-3000:]
        out = " ".join(run.stdout.split())
        broke = f"Broke a stale lock on this node (triton_server_lock_stale_after=3600): {LOCK} was held by {OTHER_RUN}"
        assert f"{broke} for 720" in out
        for host, *_ in before.values():
            assert not host.file(LOCK).exists
    finally:
        first.run(f"rm -f {LOCK}")


# The next two tests run last: they change the live repository the tests above compare against.
LAB_REPO = SCENARIO.parent.parent / "lab" / "model_repository"
LOCAL_PIPE = "/srv/triton/models/local_pipe"
IDENTITY_ENSEMBLE = """name: "{name}"
platform: "ensemble"
max_batch_size: 8
input [ {{ name: "IN" data_type: TYPE_FP32 dims: [ -1 ] }} ]
output [ {{ name: "OUT" data_type: TYPE_FP32 dims: [ -1 ] }} ]
ensemble_scheduling {{ step [ {{ model_name: "identity" model_version: -1
  input_map {{ key: "INPUT" value: "IN" }} output_map {{ key: "OUTPUT" value: "OUT" }} }} ] }}
"""


def lab_copy(dest: Path) -> Path:
    shutil.copytree(LAB_REPO, dest)
    return dest


def pipe_answer(host, model):
    body = json.dumps({"inputs": [{"name": "IN", "shape": [1, 3], "datatype": "FP32", "data": [7, 8, 9]}]})
    out = host.run(f"curl -s -m 10 -X POST -d '{body}' http://127.0.0.1:8000/v2/models/{model}/infer")
    return json.loads(out.stdout)


def test_changed_model_that_breaks_a_live_unmanaged_ensemble_is_rejected_on_the_node(tmp_path):
    # An operator's own ensemble in the live repository uses the managed identity model; the controller cannot see it.
    plant = base64.b64encode(IDENTITY_ENSEMBLE.format(name="local_pipe").encode()).decode()
    hosts = {n: node(n) for n in NODES}
    for host in hosts.values():
        host.check_output(f"mkdir -p {LOCAL_PIPE}/1 && echo {plant} | base64 -d > {LOCAL_PIPE}/config.pbtxt")
    try:
        snap = {n: (container_id(h), repository_files(h)) for n, h in hosts.items()}
        src = lab_copy(tmp_path / "models")
        cfg = src / "identity" / "config.pbtxt"
        fp32, int32 = 'name: "INPUT" data_type: TYPE_FP32', 'name: "INPUT" data_type: TYPE_INT32'
        cfg.write_text(cfg.read_text().replace(fp32, int32))
        run = deploy("good", "-e", f"triton_server_model_repository_src={src}")
        assert run.returncode != 0
        out = run.stdout + run.stderr
        assert "Validate the staged models on the node" in out
        assert "local_pipe" in out and "inconsistent data type" in out
        for name, host in hosts.items():
            assert (container_id(host), repository_files(host)) == snap[name], name
            assert identity_answer(host)["outputs"][0]["data"] == [7.0, 8.0, 9.0]
    finally:
        for host in hosts.values():
            host.check_output(f"rm -rf {LOCAL_PIPE}")


def test_new_ensemble_over_unchanged_members_passes_node_validation(tmp_path):
    # Only the ensemble is staged; its member is live and unchanged: the node judges it against the live repository.
    src = lab_copy(tmp_path / "models")
    (src / "pipe" / "1").mkdir(parents=True)
    (src / "pipe" / "config.pbtxt").write_text(IDENTITY_ENSEMBLE.format(name="pipe"))
    run = deploy("good", "-e", f"triton_server_model_repository_src={src}")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    for name in NODES:
        host = node(name)
        assert host.file("/srv/triton/models/pipe/config.pbtxt").exists
        assert pipe_answer(host, "pipe")["outputs"][0]["data"] == [7.0, 8.0, 9.0]


def test_live_ensemble_broken_before_the_change_does_not_block_it(tmp_path):
    # An operator's ensemble that never loaded (INT32 fed to identity's FP32 input) uses identity, which changes.
    broken = IDENTITY_ENSEMBLE.format(name="local_broken").replace("TYPE_FP32", "TYPE_INT32", 1)
    plant = base64.b64encode(broken.encode()).decode()
    hosts = {n: node(n) for n in NODES}
    where = "/srv/triton/models/local_broken"
    for host in hosts.values():
        host.check_output(f"mkdir -p {where}/1 && echo {plant} | base64 -d > {where}/config.pbtxt")
    try:
        src = lab_copy(tmp_path / "models")
        (src / "pipe" / "1").mkdir(parents=True)
        (src / "pipe" / "config.pbtxt").write_text(IDENTITY_ENSEMBLE.format(name="pipe"))
        cfg = src / "identity" / "config.pbtxt"
        cfg.write_text(cfg.read_text() + "# a comment: the model's digest changes, nothing else\n")
        run = deploy("good", "-e", f"triton_server_model_repository_src={src}")
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
        out = " ".join((run.stdout + run.stderr).split())
        assert f"local_broken ({where}) uses a model being changed and does not load with or without the change" in out
        for host in hosts.values():
            assert "comment" in host.file("/srv/triton/models/identity/config.pbtxt").content_string
            assert identity_answer(host)["outputs"][0]["data"] == [7.0, 8.0, 9.0]
            assert pipe_answer(host, "pipe")["outputs"][0]["data"] == [7.0, 8.0, 9.0]
    finally:
        for host in hosts.values():
            host.check_output(f"rm -rf {where}")
