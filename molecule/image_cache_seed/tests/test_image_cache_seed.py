"""image_cache, seed: the cache host pulls and saves once, the controller gets the tarball and its .sha256, the other
nodes (never logged in) load it; every node ends with the lab image's ID."""

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

testinfra_hosts = ["ansible://all"]

REGISTRY = "registry.gpufleet-lab.test:5000"
IMAGE = f"{REGISTRY}/nvidia/tritonserver:24.10-py3-lab-cpu"
LAB_IMAGE = "nvcr.io/nvidia/tritonserver:24.10-py3-lab-cpu"
SEED_HOST = "seed-cache"
CACHE = "/var/cache/gpufleet/images"
NAME = "registry.gpufleet-lab.test_5000_nvidia_tritonserver_24.10-py3-lab-cpu.tar"
FETCH = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "seed-fetch"


@pytest.fixture(scope="module")
def lab_id():
    """The lab image's ID on this machine: the registry name differs, the ID must not."""
    out = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", LAB_IMAGE], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@pytest.fixture(scope="module")
def controller_sha256():
    digest, name = (FETCH / (NAME + ".sha256")).read_text().split()
    assert name == NAME
    return digest


def hostname(host):
    return host.ansible.get_variables()["inventory_hostname"]


def test_image_id_is_the_lab_image(host, lab_id):
    assert host.check_output(f"docker image inspect --format '{{{{.Id}}}}' {IMAGE}") == lab_id
    state = json.loads(host.file(f"{CACHE}/state.json").content_string)
    assert state[f"{REGISTRY}/nvidia/tritonserver"][-1]["id"] == lab_id
    assert host.file(f"{CACHE}/state.json").mode == 0o640


def test_tarball_on_node(host, controller_sha256):
    d = host.file(CACHE)
    assert d.is_directory and d.mode == 0o750 and d.user == "root"
    t = host.file(f"{CACHE}/{NAME}")
    assert t.is_file and t.mode == 0o640 and t.user == "root" and t.group == "root"
    assert t.sha256sum == controller_sha256


def test_controller_sha256_matches_file(controller_sha256):
    tarball = FETCH / NAME
    assert tarball.stat().st_mode & 0o777 == 0o640
    h = hashlib.sha256()
    with tarball.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    assert h.hexdigest() == controller_sha256


def test_only_the_cache_host_logged_in(host):
    config = host.file("/root/.docker/config.json")
    if hostname(host) == SEED_HOST:
        assert config.mode == 0o600 and REGISTRY in json.loads(config.content_string)["auths"]
    else:
        assert not config.exists, f"{hostname(host)} must not log in to the registry"


def test_only_the_cache_host_pulled(host):
    """The other nodes loaded the tarball: no registry credentials, and the engine never pulled (no RepoDigests)."""
    digests = host.check_output(f"docker image inspect --format '{{{{json .RepoDigests}}}}' {IMAGE}")
    if hostname(host) == SEED_HOST:
        assert REGISTRY in digests
    else:
        assert json.loads(digests) == []
