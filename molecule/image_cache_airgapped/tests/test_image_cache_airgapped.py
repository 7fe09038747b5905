"""image_cache, air-gapped: the lab tarball is loaded by ID; bad inputs fail clearly and change nothing; retention."""

import hashlib
import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

testinfra_hosts = ["ansible://all"]

SCENARIO = Path(__file__).resolve().parents[1]
REPO = SCENARIO.parents[1]
LAB = Path(os.environ.get("GPUFLEET_LAB_CACHE", "/var/cache/gpufleet-lab"))
TARBALL = LAB / "images" / "tritonserver-24.10-py3-lab-cpu.tar"
IMAGE = "nvcr.io/nvidia/tritonserver:24.10-py3-lab-cpu"
CACHE = "/var/cache/gpufleet/images"
CHECK = REPO / "roles" / "image_cache" / "files" / "image_archive_check.py"
FIRST = "airgap-debian12"


@pytest.fixture(scope="module")
def expected_id():
    out = subprocess.run(["python3", str(CHECK), str(TARBALL), "--image", IMAGE], capture_output=True, check=True)
    return json.loads(out.stdout)["image_id"]


def playbook(extra, limit=FIRST):
    """Run negative.yml against one instance; return (rc, output)."""
    cmd = [
        "ansible-playbook",
        "-i",
        os.environ["MOLECULE_INVENTORY_FILE"],
        "--limit",
        limit,
        str(SCENARIO / "negative.yml"),
        "-e",
        json.dumps(extra),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return res.returncode, res.stdout + res.stderr


def start_playbook(extra, limit=FIRST):
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", limit]
    cmd += [str(SCENARIO / "negative.yml"), "-e", json.dumps(extra)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def node_state(host):
    return host.check_output(
        f"ls -l --time-style=+%s.%N {CACHE}; sha256sum {CACHE}/state.json; docker images -a -q --no-trunc | sort"
    )


def test_image_loaded_by_id(host, expected_id):
    assert host.check_output(f"docker image inspect --format '{{{{.Id}}}}' {IMAGE}") == expected_id


def test_cache_files_and_modes(host, expected_id):
    d = host.file(CACHE)
    assert d.is_directory and d.mode == 0o750 and d.user == "root"
    t = host.file(f"{CACHE}/{TARBALL.name}")
    assert t.mode == 0o640
    assert t.sha256sum == (LAB / "images" / (TARBALL.name + ".sha256")).read_text().split()[0]
    state = json.loads(host.file(f"{CACHE}/state.json").content_string)
    assert state["nvcr.io/nvidia/tritonserver"][-1]["id"] == expected_id
    assert host.file(f"{CACHE}/state.json").mode == 0o640


@pytest.fixture(scope="module")
def truncated(tmp_path_factory):
    path = tmp_path_factory.mktemp("bad") / "truncated.tar"
    h = hashlib.sha256()
    with TARBALL.open("rb") as src, path.open("wb") as dst:
        left = 120 * 1024 * 1024
        while left:
            chunk = src.read(min(left, 1 << 20))
            h.update(chunk)
            dst.write(chunk)
            left -= len(chunk)
    return path, h.hexdigest()


def lab_sha():
    return (LAB / "images" / (TARBALL.name + ".sha256")).read_text().split()[0]


BAD = {
    "truncated": (None, "is corrupted or truncated"),
    "checksum": ({"image_cache_tarball_sha256": "0" * 64}, "checksum mismatch"),
    "wrong_image": ({"image_cache_image": "nvcr.io/nvidia/tritonserver:99.99-py3"}, "does not contain"),
    "missing": ({"image_cache_tarball": "/nonexistent/triton.tar"}, "does not exist on the controller"),
    "disk": ({"image_cache_min_free_mib": 1 << 40}, "Not enough disk space"),
}


def test_bad_inputs_fail_and_change_nothing(host, truncated):
    """Each bad input runs as its own playbook (in parallel, to keep the scenario short)."""
    if host.backend.host != FIRST:
        pytest.skip("negative cases run against one instance")
    base = {
        "image_cache_source": "tarball",
        "image_cache_image": IMAGE,
        "image_cache_tarball": str(TARBALL),
        "image_cache_tarball_sha256": lab_sha(),
    }
    runs = {}
    before = node_state(host)
    for case, (extra, _) in sorted(BAD.items()):
        args = dict(base)
        if extra is None:
            args.update(image_cache_tarball=str(truncated[0]), image_cache_tarball_sha256=truncated[1])
        else:
            args.update(extra)
        runs[case] = (args, start_playbook(args))
    for case, (args, proc) in runs.items():
        out = proc.communicate()[0]
        assert proc.returncode != 0, f"{case}: {out}"
        assert BAD[case][1] in out, f"{case}: {out}"
        if case != "disk":
            assert args["image_cache_tarball"] in out, f"{case}: {out}"
    assert node_state(host) == before


def tiny_image(tmp, tag):
    """A one-layer image built by hand in `docker save` format (no registry, no build)."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as t:
        data = tag.encode()
        info = tarfile.TarInfo("version")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/version"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created_by": tag}],
        }
    ).encode()
    cid = hashlib.sha256(config).hexdigest()
    manifest = json.dumps([{"Config": cid + ".json", "RepoTags": [tag], "Layers": ["layer/layer.tar"]}]).encode()
    path = tmp / (tag.replace("/", "_").replace(":", "_") + ".tar")
    with tarfile.open(path, "w") as t:
        for name, blob in ((cid + ".json", config), ("layer/layer.tar", layer_bytes), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            t.addfile(info, io.BytesIO(blob))
    return path, hashlib.sha256(path.read_bytes()).hexdigest(), "sha256:" + cid


def test_retention_keeps_previous_and_images_in_use(host, tmp_path):
    if host.backend.host != FIRST:
        pytest.skip("retention runs against one instance")
    images = [tiny_image(tmp_path, f"gpufleet-test/tiny:v{i}") for i in range(1, 5)]
    for i, (path, sha, _) in enumerate(images, start=1):
        rc, out = playbook(
            {
                "image_cache_image": f"gpufleet-test/tiny:v{i}",
                "image_cache_tarball": str(path),
                "image_cache_tarball_sha256": sha,
                "image_cache_retention": 2,
            }
        )
        assert rc == 0, out
        if i == 1:
            host.check_output("docker create --name tiny-in-use gpufleet-test/tiny:v1")
    present = set(host.check_output("docker images -q --no-trunc gpufleet-test/tiny").split())
    ids = [i[2] for i in images]
    # v1 is used by a container (kept beyond retention), v2 pruned, v3 (previous) and v4 (current) kept.
    assert present == {ids[0], ids[2], ids[3]}
    assert not host.file(f"{CACHE}/{images[1][0].name}").exists
    assert host.file(f"{CACHE}/{images[3][0].name}").exists
    assert host.file(f"{CACHE}/{images[2][0].name}").exists
    host.check_output("docker rm tiny-in-use")
