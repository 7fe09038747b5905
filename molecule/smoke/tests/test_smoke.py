"""The lab works end to end: Triton from the cached tarball serves the sample models inside a systemd instance."""

import json

import pytest

BASE = "http://127.0.0.1:8000"
X = [1.0, 2.0, 3.0, 4.0]
Y = [1.0, 1.0, 1.0, 1.0]


def http(host, method, path, body=None):
    cmd = f"curl -s -o /dev/stderr -w '%{{http_code}}' -X {method} {BASE}{path}"
    if body is not None:
        cmd += f" -H 'Content-Type: application/json' -d '{json.dumps(body)}'"
    out = host.run(cmd)
    return int(out.stdout or 0), out.stderr


def test_engine_runs_under_systemd(host):
    assert host.service("docker").is_running
    assert host.run("systemctl is-system-running").stdout.strip() in ("running", "degraded")


def test_server_is_ready(host):
    assert http(host, "GET", "/v2/health/ready")[0] == 200
    code, body = http(host, "GET", "/v2")
    assert code == 200
    assert json.loads(body)["version"] == "2.51.0"


@pytest.mark.parametrize("model", ["add_sub/versions/1", "add_sub/versions/2", "identity"])
def test_each_model_is_ready(host, model):
    assert http(host, "GET", f"/v2/models/{model}/ready")[0] == 200


@pytest.mark.parametrize(("version", "difference"), [("1", [0.0, 1.0, 2.0, 3.0]), ("2", [0.0, -1.0, -2.0, -3.0])])
def test_inference_answers_per_version(host, version, difference):
    request = {
        "inputs": [
            {"name": "INPUT0", "shape": [4], "datatype": "FP32", "data": X},
            {"name": "INPUT1", "shape": [4], "datatype": "FP32", "data": Y},
        ]
    }
    code, body = http(host, "POST", f"/v2/models/add_sub/versions/{version}/infer", request)
    assert code == 200, body
    outputs = {o["name"]: o["data"] for o in json.loads(body)["outputs"]}
    assert outputs["OUTPUT0"] == [2.0, 3.0, 4.0, 5.0]
    assert outputs["OUTPUT1"] == difference


def test_models_are_mounted_read_only(host):
    mounts = json.loads(host.check_output("docker inspect -f '{{json .Mounts}}' tritonserver"))
    models = [m for m in mounts if m["Destination"] == "/models"]
    assert models, mounts
    assert models[0]["RW"] is False
    assert host.check_output("docker inspect -f '{{.Config.User}}' tritonserver") == "1000"
