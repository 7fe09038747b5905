#!/usr/bin/env python3
"""Benchmark gpufleet.triton.image_cache (source tarball) on lab instances; prints a Markdown table.

For 1 and 3 fresh nodes and two transports: seconds of the whole role and of its copy task, and the bytes copied, on
the first run and on a re-run, against the plain transfer of the same tarball into the same nodes: `docker cp` for
the lab's Docker connection, `scp` for SSH (a fleet's transport; sshd is added to the nodes, and the checkout's
ansible.cfg leaves out Ansible's default -C). For 3 nodes the three plain copies run at once, as the role copies to
the nodes at once. A local `cp` of the tarball on this host is printed too, as the floor. Goals (issue 4): 0 bytes on
re-run; first copy within 1.3x of the plain transfer. Then the slowest tasks of the first 1-node run over Docker.

Bytes copied: the sizes the copy task reports for the nodes it changed, checked against the files in the nodes'
cache folder that are new or changed (inode, size or mtime) between before and after the run.

The lab's tarball is 346 MiB; Triton's own images are 10-15 GB, where the copy task's fixed cost (a module call, the
node's temporary folder, the end-of-transfer marker: about 0.3-0.4 s) weighs far less. --grow MiB measures with a
tarball of that size more: the lab image plus one layer of random bytes, committed and saved here, removed at the end.

Creates bench-ic-1..3 with lab/fleet.yml (the scenarios' instance settings), installs the engine with the
docker_engine role, and removes the instances at the end, whatever happens. Run from the checkout after `make lab`.
Usage: image_cache.py [--grow MiB] [docker|ssh ...] (default: both transports, the lab's tarball)
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from _lab import IMAGE, ROOT, TARBALL, VENV, collection_root, fleet, grown, ssh_nodes

CACHE = "/var/cache/gpufleet/images"
NODES = ["bench-ic-1", "bench-ic-2", "bench-ic-3"]
COPY_TASK = "Copy the tarball to nodes that lack a file with its sha256"

ENGINE = """---
- name: Engine
  hosts: all
  gather_facts: true
  roles:
    - role: gpufleet.triton.docker_engine
"""

IMAGE_PLAY = """---
- name: Image
  hosts: all
  gather_facts: false
  roles:
    - role: gpufleet.triton.image_cache
      vars:
        image_cache_source: tarball
        image_cache_image: {image}
        image_cache_tarball: {tarball}
        image_cache_tarball_sha256: {sha256}
"""


def run(*cmd, env=None, check=True):
    res = subprocess.run(cmd, cwd=ROOT, env=env, check=False, capture_output=True, text=True)
    if check and res.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{res.stdout[-4000:]}\n{res.stderr[-2000:]}")
    return res


def cache_files(node):
    """{path: (inode, size, mtime)} of the node's cache folder."""
    res = run(
        "docker", "exec", node, "sh", "-c", f"find {CACHE} -type f -printf '%p %i %s %T@\\n' 2>/dev/null", check=False
    )
    files = {}
    for line in res.stdout.splitlines():
        path, inode, size, mtime = line.rsplit(" ", 3)
        files[path] = (inode, int(size), mtime)
    return files


def arrived(before, after):
    return sum(meta[1] for path, meta in after.items() if before.get(path) != meta)


def role_run(env, work, inventory, nodes):
    """Run the image_cache play; return (seconds, copy task seconds, bytes copied, bytes arrived, task durations)."""
    before = {n: cache_files(n) for n in nodes}
    start = time.monotonic()
    res = run(
        "ansible-playbook", "-i", str(inventory), str(work / "image.yml"),
        "-l", ",".join(nodes), env=dict(env, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"), check=False,
    )  # fmt: skip
    seconds = time.monotonic() - start
    if res.returncode != 0:
        sys.exit(f"image_cache failed on {nodes}:\n{res.stdout[-6000:]}\n{res.stderr[-2000:]}")
    after = {n: cache_files(n) for n in nodes}
    report = json.loads(res.stdout[res.stdout.index("{") :])
    tasks = [t for play in report["plays"] for t in play["tasks"]]
    copy_s, copy_bytes, durations = 0.0, 0, []
    for t in tasks:
        d = t["task"]["duration"]
        took = _ts(d["end"]) - _ts(d["start"])
        durations.append((took, t["task"]["name"]))
        if COPY_TASK in t["task"]["name"]:
            copy_s = took
            copy_bytes = sum(r.get("transferred", 0) for r in t["hosts"].values())
    return seconds, copy_s, copy_bytes, sum(arrived(before[n], after[n]) for n in nodes), durations


def _ts(stamp):
    # the json callback's stamps, e.g. 2024-11-25T20:47:01.123456Z
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def plain_copy(transport, nodes):
    """The plain transfer of the tarball into each node, all at once; returns seconds."""
    start = time.monotonic()
    with ThreadPoolExecutor(len(nodes)) as pool:
        list(pool.map(lambda n: run(*transport["plain"](n)), nodes))
    seconds = time.monotonic() - start
    for n in nodes:
        run("docker", "exec", n, "rm", "-f", "/root/baseline.tar")
    return seconds


def docker_transport(tarball):
    return {
        "hosts": {n: {"ansible_connection": "community.docker.docker"} for n in NODES},
        "plain": lambda n: ("docker", "cp", str(tarball), f"{n}:/root/baseline.tar"),
        "name": "`docker cp`",
    }


def ssh_transport(work, tarball):
    """sshd in every node (root, a key made here), and how Ansible and scp reach them."""
    key, addrs, opts = ssh_nodes(work, NODES)
    hosts = {
        n: {"ansible_connection": "ssh", "ansible_host": addrs[n], "ansible_user": "root",
            "ansible_ssh_private_key_file": str(key), "ansible_ssh_common_args": " ".join(opts)}
        for n in NODES
    }  # fmt: skip
    return {
        "hosts": hosts,
        "plain": lambda n: ("scp", "-q", "-i", str(key), *opts, str(tarball), f"root@{addrs[n]}:/root/baseline.tar"),
        "name": "`scp`",
    }


def local_cp(work, tarball):
    start = time.monotonic()
    shutil.copyfile(tarball, work / "cp.tar")
    with (work / "cp.tar").open("rb+") as f:
        os.fsync(f.fileno())
    seconds = time.monotonic() - start
    (work / "cp.tar").unlink()
    return seconds


def reset(nodes, image):
    """Back to a node without the image or its tarball (the engine stays)."""
    for n in nodes:
        run("docker", "exec", n, "sh", "-c", f"rm -rf {CACHE}; docker image rm -f {image} >/dev/null 2>&1; true")


def main():
    args = sys.argv[1:]
    grow = int(args[args.index("--grow") + 1]) if "--grow" in args else 0
    wanted = [a for a in args if a in ("docker", "ssh")] or ["docker", "ssh"]
    work = collection_root(Path(tempfile.mkdtemp(prefix="bench-image-cache-", dir="/var/tmp")))
    if grow:
        tarball, image, sha256 = grown(work, grow)
    else:
        tarball, image = TARBALL, IMAGE
        sha256 = (TARBALL.parent / (TARBALL.name + ".sha256")).read_text().split()[0]
    size = tarball.stat().st_size
    (work / "engine.yml").write_text(ENGINE)
    (work / "image.yml").write_text(IMAGE_PLAY.format(image=image, tarball=tarball, sha256=sha256))
    (work / "inventory.yml").write_text(json.dumps({"bench": {"hosts": docker_transport(tarball)["hosts"]}}))
    env = dict(
        os.environ,
        PATH=f"{VENV}:{os.environ['PATH']}",
        ANSIBLE_COLLECTIONS_PATH=str(work),
        ANSIBLE_PIPELINING="true",
        ANSIBLE_PYTHON_INTERPRETER="auto_silent",
        ANSIBLE_FORKS="10",
    )
    rows, profile = [], []
    load_start = os.getloadavg()[0]
    try:
        fleet(env, "absent", NODES)
        fleet(env, "present", NODES)
        run("ansible-playbook", "-i", str(work / "inventory.yml"), str(work / "engine.yml"), env=env)
        floor = local_cp(work, tarball)
        for name in wanted:
            transport = docker_transport(tarball) if name == "docker" else ssh_transport(work, tarball)
            inventory = work / f"inventory-{name}.yml"
            inventory.write_text(json.dumps({"bench": {"hosts": transport["hosts"]}}))
            for nodes in (NODES[:1], NODES):
                reset(NODES, image)
                base = plain_copy(transport, nodes)
                for label in ("first", "re-run"):
                    seconds, copy_s, copy_bytes, got, durations = role_run(env, work, inventory, nodes)
                    if label == "first" and len(nodes) == 1 and not profile:
                        profile = sorted(durations, reverse=True)[:8]
                    rows.append((name, transport["name"], len(nodes), label, seconds, copy_s, copy_bytes, got, base))
    finally:
        fleet(env, "absent", NODES)
        shutil.rmtree(work, ignore_errors=True)

    print(f"tarball: {tarball.name}, {size} bytes ({size / 2**20:.0f} MiB); local `cp` on this host: {floor:.2f} s")
    print(f"load average (1 min) on this host: {load_start:.1f} at start, {os.getloadavg()[0]:.1f} at the end")
    print("baseline: the plain copy of the same tarball into each node (3 nodes: three at once)\n")
    print("| transport | nodes | run | role s | copy task s | bytes copied (copy task) | bytes arrived (cache dir) "
          "| plain copy s | copy task / plain | role / plain |")  # fmt: skip
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, plain, n, label, seconds, copy_s, copy_bytes, got, base in rows:
        print(
            f"| {name} | {n} | {label} | {seconds:.1f} | {copy_s:.1f} | {copy_bytes:,} | {got:,} "
            f"| {base:.1f} ({plain}) | {copy_s / base:.2f}x | {seconds / base:.2f}x |"
        )
    print(f"\nslowest tasks, first run on 1 node ({wanted[0]}):\n")
    print("| s | task |\n|---:|---|")
    for took, name in profile:
        print(f"| {took:.1f} | {name} |")


if __name__ == "__main__":
    main()
