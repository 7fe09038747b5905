#!/usr/bin/env python3
"""Benchmark gpufleet.triton.verified_copy against `docker cp` and the copy+stat pair it replaced; prints a table.

One lab container (the debian12 instance image, no systemd needed) receives the lab's Triton tarball and a larger
random file. For each file: `docker cp` (the plain transfer, the baseline), ansible.builtin.copy followed by a stat
with sha256 (what image_cache did before), verified_copy on a node without the file, and verified_copy again (the
node has it). Seconds are whole ad-hoc `ansible` runs minus an `ansible -m ping` run, so Ansible's start-up and one
round trip are not counted against the copy. Goal (issue 4): first copy within 1.3x of the plain transfer.

Run from the checkout after `make lab`. Usage: verified_copy.py [size of the large file in MiB, default 2048]
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _lab import ROOT, TARBALL, VENV, collection_root

IMAGE = "localhost/gpufleet-lab/debian12"
NODE = "bench-verified-copy"
DEST = "/var/cache/bench/file"


def run(*cmd, env=None, check=True):
    res = subprocess.run(cmd, cwd=ROOT, env=env, check=False, capture_output=True, text=True)
    if check and res.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{res.stdout[-3000:]}\n{res.stderr[-2000:]}")
    return res


def timed(*cmd, env=None):
    start = time.monotonic()
    res = run(*cmd, env=env)
    return time.monotonic() - start, res


def ansible(env, module, args, *extra):
    params = ["-a", json.dumps(args)] if args else []
    return timed(VENV / "ansible", NODE, "-i", f"{NODE},", "-c", "community.docker.docker", "-m", module, *params,
                 *extra, env=env)  # fmt: skip


def sha256(path):
    return run("sha256sum", str(path)).stdout.split()[0]


def main():
    big_mib = int(sys.argv[1]) if len(sys.argv) > 1 else 2048
    work = collection_root(Path(tempfile.mkdtemp(prefix="bench-verified-copy-", dir="/var/tmp")))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(work), ANSIBLE_PIPELINING="true",
               ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3", ANSIBLE_LOAD_CALLBACK_PLUGINS="true",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")  # fmt: skip
    big = work / "big.bin"
    with big.open("wb") as out:
        for _ in range(big_mib):
            out.write(os.urandom(1 << 20))
    files = [(TARBALL, sha256(TARBALL)), (big, sha256(big))]
    rows = []
    load = os.getloadavg()[0]
    try:
        run("docker", "rm", "-f", NODE, check=False)
        run("docker", "run", "-d", "--name", NODE, "--entrypoint", "sleep", IMAGE, "infinity")
        run("docker", "exec", NODE, "mkdir", "-p", os.path.dirname(DEST))
        ping, _ = ansible(env, "ansible.builtin.ping", {})
        reset = ("docker", "exec", NODE, "rm", "-f", DEST)
        for path, digest in files:
            size = path.stat().st_size
            with path.open("rb") as warm:  # the controller's page cache, as for every later measure
                while warm.read(1 << 24):
                    pass
            run(*reset)
            cp, _ = timed("docker", "cp", str(path), f"{NODE}:{DEST}")
            run(*reset)
            copy, _ = ansible(env, "ansible.builtin.copy", {"src": str(path), "dest": DEST, "mode": "0640"})
            stat, _ = ansible(env, "ansible.builtin.stat", {"path": DEST, "checksum_algorithm": "sha256"})
            run(*reset)
            args = {"src": str(path), "dest": DEST, "sha256": digest, "mode": "0640"}
            first, res = ansible(env, "gpufleet.triton.verified_copy", args)
            sent = json.loads(res.stdout)["plays"][0]["tasks"][0]["hosts"][NODE]["transferred"]
            again, res = ansible(env, "gpufleet.triton.verified_copy", args)
            resent = json.loads(res.stdout)["plays"][0]["tasks"][0]["hosts"][NODE]["transferred"]
            rows.append((path.name, size, cp, copy + stat - 2 * ping, first - ping, sent, again, resent))
    finally:
        run("docker", "rm", "-f", NODE, check=False)
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average (1 min) at start: {load:.1f}; `ansible -m ping` on the node: {ping:.2f} s (subtracted)\n")
    print("| file | MiB | `docker cp` s | copy + stat sha256 s | verified_copy first s | bytes sent "
          "| first / `docker cp` | re-run s (whole run, ping included) | bytes sent |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, size, cp, old, first, sent, again, resent in rows:
        print(
            f"| {name} | {size / 2**20:.0f} | {cp:.2f} | {old:.2f} | {first:.2f} | {sent:,} | {first / cp:.2f}x "
            f"| {again:.2f} | {resent:,} |"
        )


if __name__ == "__main__":
    main()
