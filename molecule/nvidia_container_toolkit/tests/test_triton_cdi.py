"""triton_server_cdi: Triton's container gets GPU 0 as a CDI device from the toolkit role's CDI specification (the
stand-in's hand-written one: the host's /dev/null as /dev/nvidia0) on Debian 13's Docker 26.1 with CDI enabled, and
preflight refuses the option on Debian 12's Docker 20.10 before anything changes."""

import json
import os
import subprocess
from pathlib import Path

import pytest

testinfra_hosts = ["ansible://all"]
PLAY = Path(__file__).resolve().parent.parent / "triton_cdi.yml"


def served_here(host):
    return host.backend.get_hostname().endswith("debian13")  # converge.yml serves Triton there only


def test_the_gpu_is_a_cdi_device_not_a_gpus_request(host):
    if not served_here(host):
        pytest.skip("Triton is served on Debian 13 only")
    run = host.file("/etc/triton-server/main/run").content_string
    assert "--device nvidia.com/gpu=0 " in run
    assert "--gpus" not in run
    config = json.loads(host.check_output("docker inspect triton-server-main"))[0]["HostConfig"]
    assert {"Driver": "cdi", "DeviceIDs": ["nvidia.com/gpu=0"]} in [
        {k: r[k] for k in ("Driver", "DeviceIDs")} for r in config["DeviceRequests"] or []
    ], config["DeviceRequests"]


def test_the_cdi_device_node_and_edits_are_in_the_serving_container(host):
    if not served_here(host):
        pytest.skip("Triton is served on Debian 13 only")
    assert host.service("triton-server@main").is_running
    ready = "import urllib.request as u; print(u.urlopen('http://127.0.0.1:8000/v2/health/ready', timeout=10).status)"
    assert host.check_output(f'python3 -c "{ready}"') == "200"
    # Seen from the instance through Triton's process, as its user (docker exec cannot join a container nested in
    # this lab instance): the spec's device node, the host's /dev/null (char 1:3), at /dev/nvidia0 in the container's
    # own /dev, and the spec's environment edit in Triton's environment.
    pid = host.check_output("docker inspect --format '{{.State.Pid}}' triton-server-main")
    as_triton = "setpriv --reuid 1000 --regid 1000 --clear-groups"
    node = host.check_output(f"{as_triton} stat -c '%F %t:%T' /proc/{pid}/root/dev/nvidia0")
    assert node == "character special file 1:3"
    environ = host.check_output(f"{as_triton} cat /proc/{pid}/environ | tr '\\0' '\\n'").splitlines()
    assert "GPUFLEET_CDI_STANDIN=1" in environ


def test_debian12s_engine_is_refused_before_anything_changes(host):
    if served_here(host):
        pytest.skip("the refusal is Debian 12's (Docker 20.10)")
    name = host.backend.get_hostname()
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    run = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(PLAY), "-e", f"triton_cdi_hosts={name}"],
        capture_output=True, text=True, timeout=600, env=env, check=False,
    )  # fmt: skip
    assert run.returncode != 0, run.stdout[-3000:] + run.stderr[-2000:]
    report = json.loads(run.stdout[run.stdout.index("{") :])
    failed = [t for play in report["plays"] for t in play["tasks"] if t["hosts"].get(name, {}).get("failed")]
    assert [t["task"]["name"].split(" : ")[-1] for t in failed] == [
        "Check that the engine resolves CDI device names (Docker 25 or later)"
    ]
    msg = " ".join(failed[0]["hosts"][name]["msg"].split())
    engine = json.loads(host.check_output("docker version --format '{{json .Server}}'"))["Version"]
    assert engine.startswith("20.10"), engine
    assert f"the engine of {name} is {engine}. Set triton_server_cdi=false there" in msg, msg
    assert report["stats"][name]["changed"] == 0
    assert not host.file("/etc/triton-server").exists
    assert not host.file("/etc/systemd/system/triton-server@.service").exists
