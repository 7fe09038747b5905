#!/usr/bin/env python3
"""Benchmark image_cache's tarball check (roles/image_cache/files/image_archive_check.py); prints a Markdown table.

The check takes a tarball's sha256 and checks the archive is complete on one read. image_cache runs it once per play
on the controller (and on each node for a shared-path or downloaded tarball); with image_cache_remember_checks it
answers later runs from a record while the file is unchanged. For the lab's tarball and a synthetic `docker save`
archive of SIZE GiB (default 4; a GPU release image of Triton saves to many GiB), this times: `sha256sum` of the file
(coreutils, for scale), the check without a record (every run before records), the first check with a record (read
+ record) and a later one (answered from the record). The file is read once before timing, so every read comes from
the page cache: the best case for a read, the worst case for the record. Usage: image_archive_check.py [SIZE_GIB]
"""

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from _lab import TARBALL

CHECK = Path(__file__).resolve().parents[1] / "roles" / "image_cache" / "files" / "image_archive_check.py"
LAYER = 512 * 2**20


def synthetic(path, gib):
    """A docker-save-shaped archive: a config, manifest.json and gib * 2 layers of 512 MiB of pseudo-random bytes."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}).encode()
    hexid = hashlib.sha256(config).hexdigest()
    block = hashlib.sha512(b"gpufleet").digest() * (2**20 // 64)
    layers = [f"{i:04d}/layer.tar" for i in range(int(gib * 2))]
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo(f"{hexid}.json")
        info.size = len(config)
        tar.addfile(info, io.BytesIO(config))
        for name in layers:
            info = tarfile.TarInfo(name)
            info.size = LAYER
            tar.addfile(info, io.BufferedReader(io.BytesIO(block * (LAYER // len(block)))))
        manifest = json.dumps([{"Config": f"{hexid}.json", "RepoTags": ["bench/synthetic:1"], "Layers": layers}])
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest.encode()))


def timed(*cmd):
    start = time.monotonic()
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    took = time.monotonic() - start
    if res.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {res.stdout}{res.stderr}")
    return took, res.stdout


def measure(path):
    sha = timed("sha256sum", str(path))[1].split()[0]  # also warms the page cache
    floor = timed("sha256sum", str(path))[0]
    check = [sys.executable, str(CHECK), str(path), f"--sha256={sha}"]
    plain = timed(*check)[0]
    with tempfile.TemporaryDirectory() as records:
        first, out = timed(*check, f"--cache={records}")
        assert json.loads(out)["cached"] is False
        later, out = timed(*check, f"--cache={records}")
        assert json.loads(out)["cached"] is True
    return path.stat().st_size, floor, plain, first, later


def main():
    gib = float(sys.argv[1]) if len(sys.argv) > 1 else 4.0
    rows = []
    if TARBALL.exists():
        rows.append(("lab tarball", *measure(TARBALL)))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthetic.tar"
        synthetic(path, gib)
        rows.append((f"synthetic {gib:g} GiB", *measure(path)))
    print(
        "| tarball | MiB | sha256sum s | check, no record s | check + record s | check from record s | saved per run |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, size, floor, plain, first, later in rows:
        print(
            f"| {name} | {size / 2**20:.0f} | {floor:.2f} | {plain:.2f} | {first:.2f} | {later:.2f} | "
            f"{plain - later:.2f} s ({plain / later:.0f}x) |"
        )


if __name__ == "__main__":
    main()
