"""image_cache, site_registry, through site.yml: the controller's tarball reaches the registry host alone, which pushes
its image; three nodes that cannot reach the lab's nvcr.io stand-in trust the site CA through certs.d, pull as the
pull user and serve. An upgrade that shares layers moves only the new one to each node; a wrong pull password fails
and changes nothing; a check-mode run of the converged fleet changes nothing."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import testinfra

testinfra_hosts = ["ansible://triton_nodes"]

SCENARIO = Path(__file__).resolve().parents[1]
LAB = Path(os.environ.get("GPUFLEET_LAB_CACHE", "/var/cache/gpufleet-lab"))
REGISTRY = "air-registry:5000"
IMAGE = f"{REGISTRY}/nvidia/tritonserver:24.10-py3-lab-cpu"
LAB_IMAGE = "nvcr.io/nvidia/tritonserver:24.10-py3-lab-cpu"
UPGRADE_TAG = "24.10-py3-lab-cpu-upgrade"
UPGRADE_TARBALL = LAB / "images" / f"tritonserver-{UPGRADE_TAG}.tar"
# The scenario's test passwords (molecule.yml), which must show nowhere on the nodes.
PULL_PASSWORD = "lab-pull-password-0f3a"  # noqa: S105
PUSH_PASSWORD = "lab-push-password-9c1d"  # noqa: S105


def ansible_playbook(*args):
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], *args]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=1500)
    return res.returncode, res.stdout + res.stderr


def image_id(name):
    out = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", name], capture_output=True, text=True)
    return out.stdout.strip()


def ready(host):
    """Whether Triton on the node answers ready (the lab image has no curl: Python's urllib, as the role's checks)."""
    probe = "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/v2/health/ready', timeout=5)"
    return host.run(f'python3 -c "{probe}"').rc == 0


def name_of(host):
    return host.backend.get_hostname()


def rx_bytes(host):
    return int(host.check_output("cat /sys/class/net/eth0/statistics/rx_bytes"))


def test_triton_ready_on_the_pulled_image(host):
    assert ready(host)
    assert host.check_output(f"docker image inspect --format '{{{{.Id}}}}' {IMAGE}") == image_id(LAB_IMAGE)
    # The node pulled: no tarball came to it.
    assert host.run("ls /var/cache/gpufleet/images/*.tar").rc != 0


def test_trust_through_certs_d_never_insecure(host):
    assert host.file(f"/etc/docker/certs.d/{REGISTRY}/ca.crt").is_file
    daemon = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert REGISTRY not in daemon.get("insecure-registries", [])
    # The pull user's login, in root's client config only (0600, in a 0700 folder).
    config = host.file("/root/.docker/config.json")
    assert config.mode == 0o600 and config.user == "root" and host.file("/root/.docker").mode == 0o700
    assert list(json.loads(config.content_string)["auths"]) == [REGISTRY]


def test_nodes_cannot_reach_the_nvcr_stand_in(host):
    lab_ip = subprocess.run(
        ["docker", "inspect", "-f", "{{ (index .NetworkSettings.Networks \"gpufleet-lab\").IPAddress }}",
         "gpufleet-lab-registry"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert lab_ip
    assert host.run("getent hosts registry.gpufleet-lab.test").rc == 2  # (not found)
    # Nor by address: no route from the site's network to the stand-in's, while the site registry answers.
    probe = f"import socket; socket.create_connection(('{lab_ip}', 5000), timeout=3)"
    assert host.run(f'python3 -c "{probe}"').rc == 1
    assert host.run("python3 -c \"import socket; socket.create_connection(('air-registry', 5000), timeout=3)\"").rc == 0


def test_secrets_not_in_units_or_process_args(host):
    for secret in (PULL_PASSWORD, PUSH_PASSWORD):
        assert secret not in host.check_output("ps -eo args")
        assert host.run(f"grep -rlF -- '{secret}' /etc/systemd /etc/docker").rc == 1


def upgrade_vars():
    """The upgrade, as an operator gives it: extra variables. The lab's upgrade image (the lab image plus one 8 MiB
    layer) and its tarball are made once by benchmarks/_lab.py (`make lab` does not), and kept."""
    sys.path.insert(0, str(SCENARIO.parents[1] / "benchmarks"))
    from _lab import upgrade_image

    upgrade_image({})
    sha256 = (UPGRADE_TARBALL.parent / (UPGRADE_TARBALL.name + ".sha256")).read_text().split()[0]
    return [
        "-e", f"image_cache_image={REGISTRY}/nvidia/tritonserver:{UPGRADE_TAG}",
        "-e", f"image_cache_tarball={UPGRADE_TARBALL}",
        "-e", f"image_cache_tarball_sha256={sha256}",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def upgrade():
    """upgrade_triton.yml to the lab's upgrade image (the lab image plus one small layer), from its tarball through the
    registry host: each node's received bytes during the run, and the run's output."""
    extra = upgrade_vars()
    hosts = testinfra.get_hosts(["ansible://triton_nodes"], ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])
    before = {name_of(h): rx_bytes(h) for h in hosts}
    rc, out = ansible_playbook(
        *extra, "-e", '{"triton_rollout_serial": [1, "100%"]}',
        str(SCENARIO.parents[1] / "playbooks" / "upgrade_triton.yml"),
    )  # fmt: skip
    after = {name_of(h): rx_bytes(h) for h in hosts}
    return rc, out, {name: after[name] - before[name] for name in before}, hosts, extra


def test_upgrade_moves_only_the_new_layer(upgrade):
    rc, out, received, hosts, _ = upgrade
    assert rc == 0, out[-4000:]
    base = LAB / "images" / "tritonserver-24.10-py3-lab-cpu.tar"
    new_bytes = UPGRADE_TARBALL.stat().st_size - base.stat().st_size
    print(f"tarball {base.stat().st_size} B, upgrade adds {new_bytes} B (uncompressed); received per node: {received}")
    for name, got in received.items():
        # The new layer (compressed) and the protocol's requests and manifests; the whole image is ~40x more.
        assert got < new_bytes + 4 * 1024 * 1024, (name, got, new_bytes)
    new_image = f"{REGISTRY}/nvidia/tritonserver:{UPGRADE_TAG}"
    for h in hosts:
        assert h.check_output(f"docker image inspect --format '{{{{.Id}}}}' {new_image}")
        assert ready(h)


def test_wrong_pull_password_fails_and_changes_nothing(host, upgrade):
    name = name_of(host)
    if name != "air-node-3":
        pytest.skip("one node is enough")
    before = [
        host.check_output("sha256sum /root/.docker/config.json"),
        host.check_output("docker image ls -q --no-trunc | sort"),
        host.check_output("docker ps -q --no-trunc"),
    ]
    # The node alone (its registry host left out): the login comes before the image in its batch. -vvv: no password
    # shows at any verbosity.
    rc, out = ansible_playbook(
        "-vvv", "--limit", name, "-e", "ngc_login_api_key=wrong-password", "-e", "site_skip_converged=false",
        str(SCENARIO / "converge.yml"),
    )  # fmt: skip
    assert rc != 0, out[-3000:]
    assert "the registry refused the key" in out, out[-3000:]
    for secret in ("wrong-password", PULL_PASSWORD, PUSH_PASSWORD):
        assert secret not in out
    after = [
        host.check_output("sha256sum /root/.docker/config.json"),
        host.check_output("docker image ls -q --no-trunc | sort"),
        host.check_output("docker ps -q --no-trunc"),
    ]
    assert after == before
    assert ready(host)


def test_check_mode_on_the_converged_fleet_changes_nothing(upgrade):
    """After the upgrade (pytest may order the tests either way; the upgrade is the fleet's last state), every role in
    check mode: nothing to change. (One node: the three are alike.)"""
    rc, out = ansible_playbook(
        "--check", "--diff", "--limit", "air-node-1,air-registry", "-e", "site_skip_converged=false",
        *upgrade[4], str(SCENARIO / "converge.yml"),
    )  # fmt: skip
    assert rc == 0, out[-4000:]
    task, changed = [], []
    for line in out.splitlines():
        if line.startswith("TASK ["):
            task = [line]
        elif line.startswith("changed: "):
            changed.append("\n".join([*task[-30:], line]))
        else:
            task.append(line)
    assert changed == [], "\n\n".join(changed)
    assert all(" changed=0 " in line for line in out.splitlines() if " : ok=" in line), out[-2000:]
