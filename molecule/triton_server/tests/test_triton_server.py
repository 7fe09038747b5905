"""The triton_server role: a systemd-managed Triton serving the sample repository, locked down, self-healing."""

import json
import time

import pytest

BASE = "http://127.0.0.1:8000"


def http(host, method, path, body=None, port=8000):
    cmd = f"curl -s -m 10 -o /dev/stderr -w '%{{http_code}}' -X {method} http://127.0.0.1:{port}{path}"
    if body is not None:
        cmd += f" -H 'Content-Type: application/json' -d '{json.dumps(body)}'"
    out = host.run(cmd)
    return int(out.stdout or 0), out.stderr


def infer(host, version):
    request = {
        "inputs": [
            {"name": "INPUT0", "shape": [4], "datatype": "FP32", "data": [1, 2, 3, 4]},
            {"name": "INPUT1", "shape": [4], "datatype": "FP32", "data": [1, 1, 1, 1]},
        ]
    }
    code, body = http(host, "POST", f"/v2/models/add_sub/versions/{version}/infer", request)
    assert code == 200, body
    return {o["name"]: o["data"] for o in json.loads(body)["outputs"]}


def test_unit_active_and_enabled(host):
    unit = host.service("triton-server@main")
    assert unit.is_running
    assert unit.is_enabled


def test_every_model_ready_and_answers(host):
    code, body = http(host, "POST", "/v2/repository/index")
    assert code == 200
    index = {(m["name"], m.get("version")): m.get("state") for m in json.loads(body)}
    assert index == {("add_sub", "1"): "READY", ("add_sub", "2"): "READY", ("identity", "1"): "READY"}
    assert infer(host, 1)["OUTPUT1"] == [0.0, 1.0, 2.0, 3.0]
    assert infer(host, 2)["OUTPUT1"] == [0.0, -1.0, -2.0, -3.0]


def test_ports_http_and_metrics_open_grpc_closed(host):
    assert host.socket("tcp://0.0.0.0:8000").is_listening
    assert host.socket("tcp://0.0.0.0:8002").is_listening
    assert not host.socket("tcp://0.0.0.0:8001").is_listening
    assert "nv_inference_count" in host.check_output("curl -s http://127.0.0.1:8002/metrics")


def inspect(host):
    return json.loads(host.check_output("docker inspect triton-server-main"))[0]


def test_container_runs_as_non_root_with_read_only_models(host):
    info = inspect(host)
    assert info["Config"]["User"] == "1000:1000"
    models = [m for m in info["Mounts"] if m["Destination"] == "/models"]
    assert len(models) == 1
    assert models[0]["RW"] is False
    assert models[0]["Source"] == "/srv/triton/models"
    assert info["HostConfig"]["ShmSize"] == 256 * 1024 * 1024
    assert info["HostConfig"]["LogConfig"]["Type"] == "journald"


def test_unit_pins_the_image_by_id(host):
    info = inspect(host)
    image_id = host.check_output("docker image inspect -f '{{.Id}}' nvcr.io/nvidia/tritonserver:24.10-py3-lab-cpu")
    assert info["Image"] == image_id
    assert image_id in host.file("/etc/triton-server/main/run").content_string


@pytest.mark.parametrize(
    ("path", "mode"),
    [
        ("/etc/triton-server", 0o700),
        ("/etc/triton-server/main/run", 0o700),
        ("/etc/triton-server/main/stop", 0o700),
        ("/etc/triton-server/managed-models.json", 0o600),
        ("/etc/triton-server/env", 0o600),
        ("/etc/triton-server/lb-headers.json", 0o600),
        ("/etc/triton-server/lb-request.py", 0o600),
        ("/etc/triton-server/main/started", 0o700),
        ("/etc/systemd/system/triton-server@.service", 0o644),
    ],
)
def test_file_modes(host, path, mode):
    f = host.file(path)
    assert f.exists
    assert f.user == "root"
    assert f.mode == mode


ENV_SECRET = "env-secret-0123456789 x=y"  # noqa: S105 - molecule.yml's made-up triton_server_env secret
# Lists the processes whose command line holds a secret, which it reads from the file the role wrote (a Python
# expression, in double quotes only): a secret in this script's own command line would find itself.
FIND_IN_CMDLINES = """
import glob, json
secret = ({secret}).encode()
found = []
for path in glob.glob("/proc/[0-9]*/cmdline"):
    try:
        if secret in open(path, "rb").read():
            found.append(path)
    except OSError:
        pass
print(found)
"""
FROM_ENV_FILE = (
    '[l.split("=", 1)[1] for l in open("/etc/triton-server/env").read().splitlines()'
    ' if l.startswith("AWS_SECRET_ACCESS_KEY=")][0]'
)

FROM_LB_HEADERS = 'json.load(open("/etc/triton-server/lb-headers.json"))["Authorization"]'


def holding_in_cmdline(host, secret):
    return host.check_output(f"python3 -c '{FIND_IN_CMDLINES.format(secret=secret)}'")


def test_environment_reaches_the_container_but_no_command_line(host):
    assert f"AWS_SECRET_ACCESS_KEY={ENV_SECRET}" in inspect(host)["Config"]["Env"]
    assert holding_in_cmdline(host, FROM_ENV_FILE) == "[]"
    assert ENV_SECRET not in host.file("/etc/triton-server/main/run").content_string
    assert ENV_SECRET not in host.file("/etc/systemd/system/triton-server@.service").content_string
    assert ENV_SECRET not in host.run("journalctl --no-pager -o cat").stdout
    # the docker client of the instance runs as long as the container: it is the process that held --env values
    assert host.check_output("pgrep -fc '[d]ocker run --rm --name triton-server-main'") == "1"


def test_unit_outlasts_tritons_exit_timeout(host):
    unit = host.file("/etc/systemd/system/triton-server@.service").content_string
    assert "TimeoutStopSec=62" in unit  # drain wait 2 + --exit-timeout-secs 30 + 30
    assert "Restart=on-failure" in unit
    assert "ExecStartPre=-/usr/bin/docker rm --force triton-server-%i" in unit
    assert "--stop-timeout 40" in host.file("/etc/triton-server/main/run").content_string


def test_prometheus_targets(host):
    targets = json.loads(host.file("/etc/prometheus/file_sd/triton.json").content_string)
    assert targets[0]["targets"] == ["triton-server-debian12:8002"]


LB_SECRET = "lb-secret-0123456789"  # noqa: S105 - molecule.yml's made-up triton_server_lb_headers token
# molecule.yml's drain and rejoin URLs, {instance} and {http_port} filled in
DRAIN, REJOIN = "/drain?backend=main:8000", "/rejoin?backend=main:8000"


def lb_requests(host, since=0.0):
    """What the load balancer stand-in (prepare.yml) received after `since`: [{path, auth, ready, t}]."""
    log = host.file("/var/log/lb-recorder.jsonl")
    lines = log.content_string.splitlines() if log.exists else []
    return [r for r in map(json.loads, lines) if r["t"] > since]


def wait_for_rejoin(host, since, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = lb_requests(host, since)
        if any(r["path"] == REJOIN for r in got):
            return got
        time.sleep(0.5)
    pytest.fail(f"no rejoin request within {seconds} s; got {lb_requests(host, since)}")


def test_rejoined_the_load_balancer_once_ready(host):
    rejoins = [r for r in lb_requests(host) if r["path"] == REJOIN]
    assert rejoins and all(r["auth"] and r["ready"] == 200 for r in rejoins), rejoins


def test_restart_drains_while_serving_waits_then_rejoins_once_ready(host):
    since = float(host.check_output("date +%s.%N"))
    before = inspect(host)["Id"]
    host.check_output("systemctl restart triton-server@main")
    got = wait_for_rejoin(host, since)
    assert [r["path"] for r in got] == [DRAIN, REJOIN], got
    drain, rejoin = got
    assert drain["auth"] and rejoin["auth"], got
    assert drain["ready"] == 200, "drained before Triton stopped serving"
    assert rejoin["ready"] == 200, "rejoined once Triton was ready"
    assert rejoin["t"] - drain["t"] >= 2, "triton_server_drain_wait (2 s) passed before the stop"
    assert inspect(host)["Id"] != before


def test_load_balancer_token_in_no_command_line_script_or_log(host):
    assert holding_in_cmdline(host, FROM_LB_HEADERS) == "[]"
    for path in ("/etc/triton-server/main/stop", "/etc/triton-server/main/started", "/etc/triton-server/main/run"):
        assert LB_SECRET not in host.file(path).content_string
    assert "curl" not in host.file("/etc/triton-server/main/stop").content_string
    assert LB_SECRET not in host.run("journalctl --no-pager -o cat").stdout


def test_killed_container_is_back_within_30_seconds(host):
    before = inspect(host)["Id"]
    since = float(host.check_output("date +%s.%N"))
    host.check_output("docker kill triton-server-main")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        code, _ = http(host, "GET", "/v2/health/ready")
        if code == 200 and inspect(host)["Id"] != before:
            break
        time.sleep(1)
    else:
        pytest.fail("Triton was not back within 30 s of a docker kill")
    assert infer(host, 1)["OUTPUT0"] == [2.0, 3.0, 4.0, 5.0]
    # systemd ran the stop script for the crash too, and the started script after the restart.
    assert [r["path"] for r in wait_for_rejoin(host, since)] == [DRAIN, REJOIN]
