"""image_cache, seed, through site.yml: the cache host (reached as a non-root user with sudo) pulls and saves once, the
controller gets the tarball (streamed, without become) and its .sha256, older controller tarballs of the repository
are pruned, the other nodes (never logged in) load it; every node ends with the lab image's ID. The cache host is last
in the inventory and in the last batch: its part runs in a play of its own before any batch, and every batch checks
the tarball by the sha256 it wrote."""

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

testinfra_hosts = ["ansible://all"]

SCENARIO = Path(__file__).resolve().parents[1]
REGISTRY = "registry.gpufleet-lab.test:5000"
IMAGE = f"{REGISTRY}/nvidia/tritonserver:24.10-py3-lab-cpu"
LAB_IMAGE = "nvcr.io/nvidia/tritonserver:24.10-py3-lab-cpu"
SEED_HOST = "seed-cache"
NODES = ["seed-1", "seed-2"]
SEED_USER = "gpufleet-seed"
CACHE = "/var/cache/gpufleet/images"
SEED_DIR = "/var/cache/gpufleet-seed"
PREFIX = "registry.gpufleet-lab.test_5000_nvidia_"
NAME = PREFIX + "tritonserver_24.10-py3-lab-cpu.tar"
FETCH = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "seed-fetch"
SEED_PLAY = "Save the image on the seed host and fetch its tarball to the controller, before any batch"
ROLLOUT_PLAY = "Take GPU nodes to serving Triton"
# The role's task names (the JSON report puts the role's name before them).
CHECK_TASK = "Check the tarball's sha256, read the image ID from its manifest and check the archive is complete"
SUM_TASK = "Checksum the saved tarball"


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


def sha256_of(path):
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def hostname(host):
    return host.ansible.get_variables()["inventory_hostname"]


def test_image_id_is_the_lab_image(host, lab_id):
    assert host.check_output(f"docker image inspect --format '{{{{.Id}}}}' {IMAGE}") == lab_id
    state = json.loads(host.file(f"{CACHE}/state.json").content_string)
    assert state[f"{REGISTRY}/nvidia/tritonserver"][-1]["id"] == lab_id
    assert host.file(f"{CACHE}/state.json").mode == 0o640


def test_tarball_on_node(host, controller_sha256):
    d = host.file(CACHE)
    assert d.is_directory and d.mode == 0o750 and d.user == "root" and d.group == "root"
    t = host.file(f"{CACHE}/{NAME}")
    # The cache host's copy is the seed folder's file (a hard link), so it carries the seed user's group.
    group = SEED_USER if hostname(host) == SEED_HOST else "root"
    assert t.is_file and t.mode == 0o640 and t.user == "root" and t.group == group
    assert t.sha256sum == controller_sha256


def test_seed_folder_lets_only_the_connecting_user_in(host, controller_sha256):
    if hostname(host) != SEED_HOST:
        assert not host.file(SEED_DIR).exists
        return
    d = host.file(SEED_DIR)
    assert d.is_directory and d.user == "root" and d.group == SEED_USER and d.mode == 0o750
    t = host.file(f"{SEED_DIR}/{NAME}")
    assert t.user == "root" and t.group == SEED_USER and t.mode == 0o640
    assert t.sha256sum == controller_sha256
    inodes = host.check_output(f"stat -c %i {SEED_DIR}/{NAME} {CACHE}/{NAME}").split()
    assert inodes[0] == inodes[1], "the seed folder's tarball must be a hard link to the node's copy (no extra disk)"
    assert host.run(f"runuser -u {SEED_USER} -- test -r {SEED_DIR}/{NAME}").rc == 0
    assert host.run(f"runuser -u nobody -- test -r {SEED_DIR}/{NAME}").rc != 0
    assert host.check_output(f"ls {SEED_DIR}") == NAME


def test_controller_copy_equals_the_seed_tarball(host, controller_sha256):
    tarball = FETCH / NAME
    assert tarball.stat().st_mode & 0o777 == 0o640
    assert FETCH.stat().st_mode & 0o777 == 0o750
    assert (FETCH / (NAME + ".sha256")).stat().st_mode & 0o007 == 0
    assert sha256_of(tarball) == controller_sha256
    if hostname(host) == SEED_HOST:
        assert host.file(f"{SEED_DIR}/{NAME}").sha256sum == controller_sha256


def test_controller_keeps_the_newest_tarballs_of_the_repository():
    """prepare.yml planted older ones: 24.08 is beyond image_cache_retention (2), 24.09 stays with the one in use;
    other repositories' tarballs are never touched."""
    names = sorted(p.name for p in FETCH.iterdir())
    gone = PREFIX + "tritonserver_24.08-py3-lab-cpu.tar"
    assert gone not in names and gone + ".sha256" not in names
    for kept in ["tritonserver_24.09-py3-lab-cpu.tar", "tritonserver_client_24.08.tar", "pytorch_24.08-py3.tar"]:
        assert PREFIX + kept in names and PREFIX + kept + ".sha256" in names
    assert NAME in names and NAME + ".sha256" in names


def test_only_the_cache_host_logged_in(host):
    """ngc_login ran on every node with the registry and the key: its default logs in the cache host only."""
    config = host.file("/root/.docker/config.json")
    if hostname(host) == SEED_HOST:
        assert config.mode == 0o600 and REGISTRY in json.loads(config.content_string)["auths"]
    else:
        assert not config.exists or REGISTRY not in json.loads(config.content_string).get("auths", {}), (
            f"{hostname(host)} must not log in to the registry"
        )


def test_only_the_cache_host_pulled(host):
    """The other nodes loaded the tarball: no registry credentials, and the engine never pulled (no RepoDigests)."""
    digests = host.check_output(f"docker image inspect --format '{{{{json .RepoDigests}}}}' {IMAGE}")
    if hostname(host) == SEED_HOST:
        assert REGISTRY in digests
    else:
        assert json.loads(digests) == []


def test_fetch_streams_without_slurp(controller_sha256):
    """With the controller's copy gone, the seed's part of the role fetches it again: -vvv shows the connection's
    FETCH of the seed folder's file and no slurp (which would carry the whole tarball, base64, in memory)."""
    tarball = FETCH / NAME
    tarball.unlink()
    cmd = ["ansible-playbook", "-vvv", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", SEED_HOST]
    cmd += ["--tags", "image_cache_seed", str(SCENARIO / "fetch.yml")]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    assert f"FETCH {SEED_DIR}/{NAME} TO {tarball}" in out
    modules = [line for line in out.splitlines() if "Using module file" in line]
    assert modules and not [line for line in modules if "slurp" in line]
    assert sha256_of(tarball) == controller_sha256
    assert tarball.stat().st_mode & 0o777 == 0o640


def test_every_batch_checks_the_seed_tarball_by_its_sha256(controller_sha256):
    """site.yml in check mode over the converged fleet (the scenario's second check), reported as JSON: the cache
    host's part (here its tarball's checksum; check mode fetches nothing) runs in a play of its own before the first
    batch, although the cache host is last in the inventory and in the last batch (converge.yml: one node, then the
    rest); each node's batch checks the controller's tarball by the sha256 the seed wrote beside it, and the check
    passes. Before the seed play, nodes of the first batch read the cache host's facts before it had set them: no
    sha256, and no tarball on a fresh controller (converge failed)."""
    cmd = ["ansible-playbook", "--check", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--skip-tags", "triton_server"]
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    res = subprocess.run([*cmd, str(SCENARIO / "converge.yml")], capture_output=True, text=True, env=env, check=False)
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    report = json.loads(res.stdout[res.stdout.index("{") :])

    plays = [(p["play"]["name"], p["tasks"]) for p in report["plays"]]
    hosts = [sorted({h for task in tasks for h in task["hosts"]}) for _, tasks in plays]
    seed = [i for i, (name, _) in enumerate(plays) if name == SEED_PLAY]
    batches = [i for i, (name, _) in enumerate(plays) if name == ROLLOUT_PLAY]
    assert [hosts[i] for i in batches] == [[NODES[0]], sorted([NODES[1], SEED_HOST])], "the cache host's batch is last"
    assert len(seed) == 1 and hosts[seed[0]] == [SEED_HOST] and seed[0] < batches[0], [name for name, _ in plays]
    summed = [task["hosts"][SEED_HOST] for task in plays[seed[0]][1] if task["task"]["name"].endswith(SUM_TASK)]
    assert [s.get("stat", {}).get("checksum") for s in summed] == [controller_sha256], "the seed play's checksum"

    checked = {}
    for i in batches:
        for task in plays[i][1]:
            if task["task"]["name"].endswith(CHECK_TASK):
                checked.update(task["hosts"])
    assert sorted(checked) == sorted([*NODES, SEED_HOST])
    for host, result in checked.items():
        assert not result.get("skipped") and result.get("rc") == 0, (host, result)
        assert f"--sha256={controller_sha256}" in result["cmd"], (host, result["cmd"])
