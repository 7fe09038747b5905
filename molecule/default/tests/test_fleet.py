"""site.yml took each lab node to serving Triton: units, ports, models, inference, file modes, no secret anywhere."""

import base64
import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

LAB = Path(os.environ.get("GPUFLEET_LAB_CACHE", "/var/cache/gpufleet-lab"))
API_KEY = (LAB / "registry" / "api-key").read_text().strip()
REPO_SECRET = "lab-repository-secret-0123456789"  # noqa: S105 - the lab stand-in for a vault secret


HTTP = """
import json, sys, urllib.error, urllib.request
method, url, body, headers = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
req = urllib.request.Request(url, data=body.encode() if body else None, method=method, headers=headers)
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        code, text = r.status, r.read().decode()
except urllib.error.HTTPError as e:
    code, text = e.code, e.read().decode()
print(json.dumps([code, text]))
"""


def http(host, method, path, body=None, headers=()):
    """(status, body) of a request made on the node itself (the nodes have python3, not curl)."""
    hdrs = dict(h.split(": ", 1) for h in headers)
    if body is not None:
        hdrs["Content-Type"] = "application/json"
    payload = json.dumps(body) if body is not None else ""
    cmd = "python3 -c {} {} {} {} {}".format(
        *(shlex.quote(x) for x in (HTTP, method, f"http://127.0.0.1:8000{path}", payload, json.dumps(hdrs)))
    )
    code, text = json.loads(host.check_output(cmd))
    return code, text


def is_node(host, name):
    return host.backend.get_hostname() == name


def test_unit_active_and_enabled(host):
    unit = host.service("triton-server@main")
    assert unit.is_running
    assert unit.is_enabled


def test_all_models_ready(host):
    for model in ("add_sub/versions/1", "add_sub/versions/2", "identity"):
        assert http(host, "GET", f"/v2/models/{model}/ready")[0] == 200, model


def test_inference_answer(host):
    request = {
        "inputs": [
            {"name": "INPUT0", "shape": [4], "datatype": "FP32", "data": [1, 2, 3, 4]},
            {"name": "INPUT1", "shape": [4], "datatype": "FP32", "data": [1, 1, 1, 1]},
        ]
    }
    code, body = http(host, "POST", "/v2/models/add_sub/versions/1/infer", request)
    assert code == 200, body
    outputs = {o["name"]: o["data"] for o in json.loads(body)["outputs"]}
    assert outputs == {"OUTPUT0": [2.0, 3.0, 4.0, 5.0], "OUTPUT1": [0.0, 1.0, 2.0, 3.0]}


def test_ports(host):
    assert host.socket("tcp://0.0.0.0:8000").is_listening
    assert host.socket("tcp://0.0.0.0:8002").is_listening
    # gRPC is not used in the lab: neither published nor served.
    assert not host.socket("tcp://0.0.0.0:8001").is_listening


def test_container_user_and_read_only_models(host):
    info = json.loads(host.check_output("docker inspect triton-server-main"))[0]
    assert info["Config"]["User"] == "1000:1000"
    mounts = {m["Destination"]: m for m in info["Mounts"]}
    assert mounts["/models"]["RW"] is False


def test_image_came_the_configured_way(host):
    if is_node(host, "lab-node-1"):
        assert host.run("docker image inspect nvcr.io/nvidia/tritonserver:24.10-py3-lab-cpu").rc == 0
        assert not host.file("/root/.docker/config.json").exists
    else:
        assert (
            host.run("docker image inspect registry.gpufleet-lab.test:5000/nvidia/tritonserver:24.10-py3-lab-cpu").rc
            == 0
        )
        config = host.file("/root/.docker/config.json")
        assert config.mode == 0o600
        assert "registry.gpufleet-lab.test:5000" in json.loads(config.content_string)["auths"]


@pytest.mark.parametrize(
    ("path", "mode"),
    [
        ("/etc/triton-server/main/run", 0o700),
        ("/etc/triton-server/main/stop", 0o700),
        ("/etc/systemd/system/triton-server@.service", 0o644),
        ("/etc/docker/certs.d/registry.gpufleet-lab.test:5000/ca.crt", 0o644),
    ],
)
def test_file_modes(host, path, mode):
    assert host.file(path).mode == mode


def test_no_secret_in_plain_text_anywhere(host):
    for secret in (API_KEY, REPO_SECRET):
        # docker's config.json holds the registry auth base64-encoded (0600); nothing else may hold a secret in the
        # clear, except the root-only run script that must pass the repository secret to Triton. The test reaches
        # the node as deploy with sudo, which logs each command it runs to the journal: the secret travels base64
        # encoded, or this very command would put it in the clear into the journal it searches.
        pattern = f'"$(echo {base64.b64encode(secret.encode()).decode()} | base64 -d)"'
        found = host.run(
            f"grep -rlF -- {pattern} /etc /var/log /root /home /srv /var/cache/gpufleet /var/lib/gpufleet /tmp"
            " 2>/dev/null"
        ).stdout.split()
        allowed = {"/etc/triton-server/main/run"} if secret == REPO_SECRET else set()
        assert set(found) <= allowed
        assert secret not in host.run("journalctl --no-pager -o cat").stdout
        assert secret not in host.file("/etc/systemd/system/triton-server@.service").content_string


def test_repository_api_restricted_on_the_explicit_node(host):
    if not is_node(host, "lab-node-3"):
        return
    code, body = http(host, "POST", "/v2/repository/index")
    assert code == 403, body
    code, _ = http(host, "POST", "/v2/repository/index", headers=[f"triton-repository-key: {REPO_SECRET}"])
    assert code == 200


STAMP = "/var/lib/gpufleet/converged.json"


def stamp_check(host, digest):
    return host.ansible("gpufleet.triton.converge_stamp_info", f"digest={digest}", check=False)


def test_converge_stamp_recorded(host):
    stamp = host.file(STAMP)
    assert stamp.mode == 0o600 and stamp.user == "root"
    data = json.loads(stamp.content_string)
    snap = data["snapshot"]
    assert snap["services"] == {"docker.service": "active enabled", "triton-server@main.service": "active enabled"}
    assert snap["endpoints"] == {"http://127.0.0.1:8000": "ready"}
    assert list(snap["images"].values()) == ["present"]
    assert snap["paths"]["/etc/triton-server/main/run"].endswith("0:0 0700")
    assert set(data["spec"]["models"]) == {"add_sub", "identity"}


def test_converge_stamp_sees_drift(host):
    """The fast path of the idempotence run trusted this stamp; a hand edit must make the next run do every role."""
    if not is_node(host, "lab-node-1"):
        return
    digest = json.loads(host.file(STAMP).content_string)["digest"]
    assert stamp_check(host, digest)["converged"]
    assert not stamp_check(host, "0" * 64)["converged"]
    run = "/etc/triton-server/main/run"
    host.run_test(f"chmod 0755 {run}")
    try:
        drifted = stamp_check(host, digest)
        assert not drifted["converged"]
        assert any(run in reason and "0755" in reason for reason in drifted["reasons"]), drifted["reasons"]
    finally:
        host.run_test(f"chmod 0700 {run}")
    host.run_test("systemctl stop triton-server@main")
    try:
        stopped = stamp_check(host, digest)
        assert not stopped["converged"]
        assert any("triton-server@main.service" in reason for reason in stopped["reasons"]), stopped["reasons"]
    finally:
        host.run_test("systemctl start triton-server@main")
    for _ in range(60):
        if stamp_check(host, digest)["converged"]:
            break
    else:
        raise AssertionError("the node did not come back to its stamped state after the unit was started again")


def test_secrets_absent_from_verbose_ssh_run(tmp_path):
    """site.yml again over SSH as deploy with sudo, at -vvv, with every role run (not ended early by the converge
    stamp): neither the NGC API key nor the repository secret shows anywhere in what Ansible prints."""
    site = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"]) / "site.yml"
    cmd = ["ansible-playbook", "-vvv", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(site),
           "-e", "site_skip_converged=false", "-e", "triton_rollout_serial=100%"]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900)
    out = res.stdout + res.stderr
    (tmp_path / "site-vvv.log").write_text(out)
    assert res.returncode == 0, out[-3000:]
    assert "ESTABLISH SSH CONNECTION FOR USER: deploy" in out and "BECOME-SUCCESS" in out
    for secret in (API_KEY, REPO_SECRET):
        assert secret not in out
