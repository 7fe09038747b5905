"""Registry source: CA trusted, logged in (0600/0700), image pulled by tag with the lab image's ID; key never shown."""

import json
import os
import subprocess
from pathlib import Path

testinfra_hosts = ["ansible://all"]

SCENARIO = Path(__file__).resolve().parents[1]
LAB = Path(os.environ.get("GPUFLEET_LAB_CACHE", "/var/cache/gpufleet-lab"))
REGISTRY = "registry.gpufleet-lab.test:5000"
IMAGE = f"{REGISTRY}/nvidia/tritonserver:24.10-py3-lab-cpu"
KEY = (LAB / "registry" / "api-key").read_text().strip()


def ansible_playbook(*args):
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], *args]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return res.returncode, res.stdout + res.stderr


def test_image_pulled_with_lab_id(host):
    lab_id = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", "nvcr.io/nvidia/tritonserver:24.10-py3-lab-cpu"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert host.check_output(f"docker image inspect --format '{{{{.Id}}}}' {IMAGE}") == lab_id
    state = json.loads(host.file("/var/cache/gpufleet/images/state.json").content_string)
    assert state[f"{REGISTRY}/nvidia/tritonserver"][-1]["id"] == lab_id


def test_client_config_private(host):
    d = host.file("/root/.docker")
    assert d.mode == 0o700
    f = host.file("/root/.docker/config.json")
    assert f.mode == 0o600 and f.user == "root"
    assert REGISTRY in json.loads(f.content_string)["auths"]


def test_ca_trusted(host):
    assert host.file(f"/etc/docker/certs.d/{REGISTRY}/ca.crt").mode == 0o644


def test_key_absent_from_verbose_run(tmp_path):
    rc, out = ansible_playbook("-vvv", str(SCENARIO / "converge.yml"))
    (tmp_path / "converge-vvv.log").write_text(out)
    assert rc == 0, out[-3000:]
    assert KEY not in out


def test_key_not_in_process_args_or_unit_files(host):
    assert KEY not in host.check_output("ps -eo args")
    assert host.run(f"grep -rlF -- '{KEY}' /etc/systemd /etc/docker").rc == 1


def test_wrong_key_fails_and_changes_nothing(host):
    before = host.check_output("sha256sum /root/.docker/config.json")
    rc, out = ansible_playbook(str(SCENARIO / "wrong_key.yml"), "-e", json.dumps({"ngc_login_api_key": "wrong-key"}))
    assert rc != 0, out
    assert f"docker login to {REGISTRY}" in out and "refused the key" in out, out
    assert "wrong-key" not in out
    assert host.check_output("sha256sum /root/.docker/config.json") == before
