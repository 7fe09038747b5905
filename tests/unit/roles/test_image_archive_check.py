"""image_cache's files/image_archive_check.py: one read of a `docker save` archive, for its sha256 and completeness."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "image_cache" / "files" / "image_archive_check.py"
TAG = "lab/triton:1"


def add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


@pytest.fixture
def archive(tmp_path):
    """A docker-save-shaped tar: manifest, a config blob named by its sha256, one 3 MiB layer."""
    config = json.dumps({"architecture": "amd64", "rootfs": {"type": "layers"}}).encode()
    hexid = hashlib.sha256(config).hexdigest()
    manifest = [{"Config": f"{hexid}.json", "RepoTags": [TAG], "Layers": ["aaa/layer.tar"]}]
    path = tmp_path / "image.tar"
    with tarfile.open(path, "w") as tar:
        add(tar, f"{hexid}.json", config)
        add(tar, "aaa/layer.tar", bytes(range(256)) * (3 * 4096))
        add(tar, "manifest.json", json.dumps(manifest).encode())
    return path, "sha256:" + hexid


def check(path, *args):
    res = subprocess.run([sys.executable, str(SCRIPT), str(path), *args], capture_output=True, text=True)
    return res.returncode, json.loads(res.stdout)


def sha256_of(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_reports_image_sha256_and_size_on_one_read(archive):
    path, image_id = archive
    rc, out = check(path, "--image", TAG, "--sha256", sha256_of(path).upper())
    assert rc == 0, out
    assert out["image_id"] == image_id and out["repo_tags"] == [TAG] and out["compression"] == "none"
    assert out["sha256"] == sha256_of(path) and out["size"] == path.stat().st_size


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_sha256_is_the_compressed_file_s(archive, compression):
    path, image_id = archive
    packed = path.with_suffix(".tar." + ("gz" if compression == "gzip" else "zst"))
    if compression == "gzip":
        packed.write_bytes(gzip.compress(path.read_bytes()))
    else:
        assert shutil.which("zstd"), "zstd is needed on the test host (Makefile: make host)"
        subprocess.run(["zstd", "-q", "-o", str(packed), str(path)], check=True)
    rc, out = check(packed, "--sha256", sha256_of(packed))
    assert rc == 0, out
    assert (out["image_id"], out["compression"], out["sha256"]) == (image_id, compression, sha256_of(packed))
    rc, out = check(packed, "--sha256", "0" * 64)
    assert rc == 1 and out["msg"].startswith(f"checksum mismatch: {packed} has sha256 {sha256_of(packed)}")


def test_checksum_mismatch_names_both_digests(archive):
    path, _ = archive
    rc, out = check(path, "--sha256", "0" * 64)
    assert rc == 1
    assert out["msg"] == f"checksum mismatch: {path} has sha256 {sha256_of(path)}, expected {'0' * 64}"


def test_truncated_archive_reports_the_checksum_first(archive):
    path, _ = archive
    whole = sha256_of(path)
    path.write_bytes(path.read_bytes()[: 2 * 1024 * 1024])
    rc, out = check(path, "--sha256", whole)
    assert rc == 1 and out["msg"].startswith("checksum mismatch:"), out
    # With the truncated file's own sha256 (a wrong checksum was published), the archive itself is at fault.
    rc, out = check(path, "--sha256", sha256_of(path))
    assert rc == 1 and "is corrupted or truncated" in out["msg"], out


def test_missing_layer_is_an_incomplete_archive(archive, tmp_path):
    path, image_id = archive
    partial = tmp_path / "partial.tar"
    with tarfile.open(path) as src, tarfile.open(partial, "w") as dst:
        for member in src:
            if member.name != "aaa/layer.tar":
                dst.addfile(member, src.extractfile(member))
    rc, out = check(partial, "--sha256", sha256_of(partial))
    assert (
        rc == 1
        and out["msg"] == f"image archive {partial} lacks layers aaa/layer.tar of image {image_id}: incomplete archive"
    )


def test_without_sha256_nothing_is_compared(archive):
    path, _ = archive
    rc, out = check(path)
    assert rc == 0 and out["sha256"] == sha256_of(path)


def records(path):
    """The record's extended attributes on the file: {name: value}."""
    return {n: os.getxattr(path, n) for n in os.listxattr(path) if n.startswith("user.gpufleet.")}


def test_a_second_check_answers_from_the_record_without_reading(archive):
    path, image_id = archive
    rc, first = check(path, "--image", TAG, "--sha256", sha256_of(path), "--record")
    assert rc == 0 and first["cached"] is False, first
    assert sorted(records(path)) == ["user.gpufleet.image-archive", "user.gpufleet.sha256"]
    rc, again = check(path, "--image", TAG, "--sha256", sha256_of(path), "--record")
    assert rc == 0 and again == dict(first, cached=True)
    # The record answers other questions about the same file too: another expected sha256, the image by ID.
    rc, out = check(path, "--sha256", "0" * 64, "--record")
    assert rc == 1 and out["msg"] == f"checksum mismatch: {path} has sha256 {sha256_of(path)}, expected {'0' * 64}"
    rc, out = check(path, "--image", "lab/other:2", "--record")
    assert rc == 1 and out["msg"] == f"image archive {path} does not contain lab/other:2 (it holds: {TAG})"
    rc, out = check(path, "--image-id", image_id, "--record")
    assert rc == 0 and out["cached"] is True and out["image_id"] == image_id


def test_the_sha256_record_is_the_one_verified_copy_and_the_stamp_use(archive):
    """One sha256 record per file: what the check records, _file_digest trusts, and the other way round."""
    from ansible_collections.gpufleet.triton.plugins.module_utils import _file_digest

    path, _ = archive
    check(path, "--record")
    assert _file_digest.file_sha256(str(path)) == (sha256_of(path), True)
    # A file whose sha256 _file_digest recorded is still read once here for its images, which it records beside it.
    other = path.with_name("other.tar")
    shutil.copy(path, other)
    _file_digest.file_sha256(str(other))
    assert sorted(records(other)) == ["user.gpufleet.sha256"]
    assert check(other, "--record")[1]["cached"] is False
    assert check(other, "--record")[1]["cached"] is True


def test_a_file_rewritten_behind_its_record_is_read_again(archive):
    path, _ = archive
    whole = sha256_of(path)
    assert check(path, "--sha256", whole, "--record")[0] == 0
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte inside the layer
    path.write_bytes(bytes(data))
    rc, out = check(path, "--sha256", whole, "--record")
    assert rc == 1 and out["msg"].startswith(f"checksum mismatch: {path} has sha256 {sha256_of(path)}"), out


def test_a_copy_of_the_file_has_no_record(archive, tmp_path):
    path, _ = archive
    assert check(path, "--record")[1]["cached"] is False
    copy = tmp_path / "copy.tar"
    shutil.copy2(path, copy)
    assert check(copy, "--record")[1]["cached"] is False


def test_failed_archives_are_not_recorded(archive):
    path, _ = archive
    path.write_bytes(path.read_bytes()[: 2 * 1024 * 1024])
    for _ in range(2):
        rc, out = check(path, "--record")
        assert rc == 1 and "is corrupted or truncated" in out["msg"], out
    assert records(path) == {}


def test_readonly_uses_records_and_writes_none(archive):
    path, _ = archive
    rc, out = check(path, "--record-readonly")
    assert rc == 0 and out["cached"] is False and records(path) == {}
    check(path, "--record")
    rc, out = check(path, "--record-readonly")
    assert rc == 0 and out["cached"] is True


def test_a_damaged_record_is_ignored(archive):
    path, _ = archive
    check(path, "--record")
    os.setxattr(path, "user.gpufleet.image-archive", b"{not json")
    rc, out = check(path, "--record")
    assert rc == 0 and out["cached"] is False and out["sha256"] == sha256_of(path)
    assert json.loads(records(path)["user.gpufleet.image-archive"])["sha256"] == sha256_of(path)


def test_checks_of_one_tarball_at_once_read_it_once(archive):
    """The nodes of a batch check the controller's tarball at once (a controller task each): one reads it, the others
    wait for its record and answer from it."""
    path, _ = archive
    cmd = [sys.executable, str(SCRIPT), str(path), "--image", TAG, "--sha256", sha256_of(path), "--record"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(6)]
    results = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs), results
    assert sorted(r["cached"] for r in results) == [False] + [True] * 5
    assert {r["sha256"] for r in results} == {sha256_of(path)}
