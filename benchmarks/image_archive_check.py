#!/usr/bin/env python3
"""Benchmark image_cache's tarball check (roles/image_cache/files/image_archive_check.py); prints a Markdown table.

The check takes a tarball's sha256 and checks the archive is complete on one read. image_cache runs it once per play
on the controller (and on each node for a shared-path or downloaded tarball); with image_cache_remember_checks it
answers later runs from a record while the file is unchanged. For the lab's tarball and a synthetic `docker save`
archive of SIZE GiB (default 4; a GPU release image of Triton saves to many GiB), this times: `sha256sum` of the file
(coreutils, for scale), the check without a record (every run before records), the first check with a record (read
+ record) and a later one (answered from the record). The file is read once before timing, so every read comes from
the page cache: the best case for a read, the worst case for the record. Usage: image_archive_check.py [SIZE_GIB]

`image_archive_check.py node TARBALL [ROUNDS, default 3]` is the A/B of the record on a re-run, on one lab container
holding TARBALL (a `docker save` archive; benchmarks/_lab.py's grown() makes one of any size): what image_cache reads
of a tarball already on a node, with the record (the check answered from the file's extended attributes, and
verified_copy's probe from the sha256 record) and without it (--no-record, checksum_cache=false: the whole file read
for each). The variants alternate, the order swapped each round.
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

from _lab import ROOT, TARBALL, VENV, collection_root

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
    import os

    for name in os.listxattr(path):  # a record of earlier runs (the lab's tarball)
        if name.startswith("user.gpufleet."):
            os.removexattr(path, name)
    first, out = timed(*check, "--record")
    assert json.loads(out)["cached"] is False
    later, out = timed(*check, "--record")
    assert json.loads(out)["cached"] is True
    return path.stat().st_size, floor, plain, first, later


NODE = "bench-image-record"
NODE_TARBALL = "/var/cache/gpufleet/images/bench.tar"
NODE_CHECK = "/usr/local/bin/image_archive_check.py"
LAB_IMAGE = "localhost/gpufleet-lab/debian12"


def node_ab(tarball, rounds):
    import os
    import shutil

    sha = timed("sha256sum", str(tarball))[1].split()[0]
    work = collection_root(Path(tempfile.mkdtemp(prefix="bench-image-record-", dir="/var/tmp")))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(work), ANSIBLE_PIPELINING="true",
               ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3", ANSIBLE_LOAD_CALLBACK_PLUGINS="true",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")  # fmt: skip
    probe_args = {"src": str(tarball), "dest": NODE_TARBALL, "sha256": sha}

    def probe(cache):
        start = time.monotonic()
        res = subprocess.run([str(VENV / "ansible"), NODE, "-i", f"{NODE},", "-c", "community.docker.docker", "--check",
                              "-m", "gpufleet.triton.verified_copy",
                              "-a", json.dumps(dict(probe_args, checksum_cache=cache))],
                             cwd=ROOT, env=env, capture_output=True, text=True, check=False)  # fmt: skip
        took = time.monotonic() - start
        out = json.loads(res.stdout)["plays"][0]["tasks"][0]["hosts"][NODE]
        assert not out.get("copied") and out["checksum_cached"] is cache, out
        return took

    def check(record):
        took, out = timed("docker", "exec", NODE, "python3", NODE_CHECK, NODE_TARBALL, f"--sha256={sha}",
                          "--record" if record else "--no-record")  # fmt: skip
        assert json.loads(out)["cached"] is record, out
        return took

    rows = {True: [], False: []}
    try:
        subprocess.run(["docker", "rm", "-f", NODE], capture_output=True, check=False)
        timed("docker", "run", "-d", "--name", NODE, "--entrypoint", "sleep", LAB_IMAGE, "infinity")
        timed("docker", "exec", NODE, "mkdir", "-p", "/var/cache/gpufleet/images")
        timed("docker", "cp", str(tarball), f"{NODE}:{NODE_TARBALL}")
        timed("docker", "cp", str(CHECK), f"{NODE}:{NODE_CHECK}")
        # The first read records (the role's first run); `docker cp` left the file in the page cache, so every read
        # below is the best case for a read and the worst for the record.
        timed("docker", "exec", NODE, "python3", NODE_CHECK, NODE_TARBALL, f"--sha256={sha}", "--record")
        for r in range(rounds):
            for record in [True, False] if r % 2 == 0 else [False, True]:
                took = (check(record), probe(record))
                rows[record].append(took)
                print(f"round {r} record={record}: check {took[0]:.2f} s, probe {took[1]:.2f} s", flush=True)
    finally:
        subprocess.run(["docker", "rm", "-f", NODE], capture_output=True, check=False)
        shutil.rmtree(work, ignore_errors=True)
    size = tarball.stat().st_size / 2**20
    print(f"{size:.0f} MiB tarball on one lab node (page cache warm), re-run; {rounds} rounds, alternating\n")
    print("| variant | tarball check s (rounds) | verified_copy probe s (rounds, whole ad-hoc run) | sum, median s |")
    print("|---|---|---|---:|")
    for record in (True, False):
        checks, probes = zip(*rows[record])
        sums = sorted(c + p for c, p in rows[record])
        name = "with the record" if record else "without (--no-record, checksum_cache=false)"
        print(
            f"| {name} | {' / '.join(f'{c:.2f}' for c in checks)} | {' / '.join(f'{p:.2f}' for p in probes)} "
            f"| {sums[len(sums) // 2]:.2f} |"
        )


def main():
    if sys.argv[1:2] == ["node"]:
        node_ab(Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 3)
        return
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
