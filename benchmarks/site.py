#!/usr/bin/env python3
"""Benchmark site.yml on the lab fleet; prints a Markdown table.

1. Bare node -> models ready: site.yml on a fresh lab node (engine install, image from the cached tarball, Triton
   gated on its models, the node's converge stamp) against the same steps by hand on another fresh node (apt-get
   install docker.io, docker load, docker run, poll /v2/health/ready). Goal: site.yml <= 2x the raw steps. A second
   row adds the tarball's copy (docker cp, timed apart) to the raw steps, since site.yml's time includes carrying the
   tarball in. The raw steps end when the models are ready, and so does this measure: site.yml's closing report
   play (each instance's health and models, the sample inference) is skipped (--skip-tags verify) and timed alone in
   a third row. Two kinds of bare node, each pair of nodes prepared alike:
   - minimal: the lab image as debootstrap makes it, without python3-apt and python3-requests, which site.yml then
     installs (the apt module's binding, and community.docker's library);
   - standard: with python3-apt, python3-requests, ca-certificates and curl, and empty package lists two days old,
     as Debian's cloud images and a Debian or Ubuntu server install ship (unattended-upgrades, cloud-init and
     reportbug depend on them).
   --rounds N runs each kind N times on fresh nodes and prints the medians (a single run moves by 1-1.5 s here).
   --grow MiB measures these rows only, with the lab image plus a layer of MiB random bytes: Triton's images are
   10-15 GB, the lab's 346 MiB. The bare-node runs' controller CPU time is printed too: on a fleet the controller's
   CPU, not one node's wall time, limits how many nodes a run takes at once.
2. No-change re-run of site.yml on 1 and 3 nodes against a play that only gathers facts and pings. Goal: <= 4x.
   Printed twice: as operators run it (nodes whose converge stamp holds end early) and with every role run
   (-e site_skip_converged=false), the cost of a run that must check everything.

Run from the checkout after `make lab`. It creates and removes its own nodes (bench-node-1..3, bench-raw) and a
temporary inventory that uses inventories/lab's group_vars, so it can run beside the lab fleet.
Usage: site.py [--grow MiB] [--rounds N]
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
from statistics import median

from _lab import IMAGE, ROOT, TARBALL, VENV, bench_inventory, collection_root, fleet, grown, measured

COLLECTIONS = collection_root(Path(tempfile.mkdtemp(prefix="bench-site-collections-")))
ENV = dict(
    os.environ,
    PATH=f"{VENV}:{os.environ['PATH']}",
    ANSIBLE_ROLES_PATH=str(ROOT / "roles"),
    ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
)


def run(*cmd, check=True):
    return subprocess.run(cmd, cwd=ROOT, env=ENV, check=check, capture_output=True, text=True)


def timed(*cmd):
    start = time.monotonic()
    result = run(*cmd, check=False)
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}")
    return time.monotonic() - start


def profiled_site(inv, *args):
    """site.yml on bench-node-1 with the json callback: (seconds, controller CPU seconds, {role: [tasks run, tasks
    skipped, seconds]}). The controller's CPU (ansible-playbook, its workers, the connection's clients) is what grows
    with the fleet: a node's wall time is mostly its own work."""
    env = dict(ENV, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    cmd = ["ansible-playbook", "site.yml", "-i", inv, "-l", "bench-node-1", "-e", f"lab_checkout={ROOT}", *args]
    res, seconds, cpu = measured(cmd, ROOT, env)
    if res.returncode != 0:
        sys.exit(f"site.yml failed on bench-node-1:\n{res.stdout[-3000:]}\n{res.stderr[-2000:]}")
    report = json.loads(res.stdout[res.stdout.index("{") :])
    roles = {}
    for play in report["plays"]:
        for task in play["tasks"]:
            name = task["task"]["name"]
            role = name.split(" : ")[0] if " : " in name else play["play"]["name"]
            stamps = task["task"]["duration"]
            took = _ts(stamps["end"]) - _ts(stamps["start"]) if "end" in stamps else 0.0
            skipped = all(h.get("skipped") for h in task["hosts"].values())
            entry = roles.setdefault(role, [0, 0, 0.0])
            entry[1 if skipped else 0] += 1
            entry[2] += took
    return seconds, cpu, roles


def _ts(stamp):
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def playbook(inv, path, *args):
    return timed("ansible-playbook", path, "-i", inv, "-e", f"lab_checkout={ROOT}", *args)


def raw_steps(node, tarball, image):
    """The seed's steps by hand, inside a fresh node: engine, load, run, wait; and, timed apart, the tarball's copy."""
    start = time.monotonic()
    run("docker", "cp", str(tarball), f"{node}:/root/triton.tar")
    copy = time.monotonic() - start
    script = (
        "set -e; apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
        "docker.io curl >/dev/null; systemctl start docker; docker load -i /root/triton.tar >/dev/null; "
        f"docker run -d --user 1000 --shm-size 256m -p 8000:8000 -v /srv/models:/models:ro {image} "
        "tritonserver --model-repository=/models >/dev/null; "
        "until curl -sf localhost:8000/v2/health/ready; do sleep 0.5; done"
    )
    run("docker", "cp", str(ROOT / "lab" / "model_repository"), f"{node}:/srv/models")
    start = time.monotonic()
    run("docker", "exec", node, "bash", "-c", script)
    return time.monotonic() - start, copy


# What a standard install or cloud image has and the lab's debootstrap image lacks; its lists are emptied and aged, as
# an image's are, so that both the raw steps and site.yml refresh them.
STANDARD = (
    "set -e; apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
    "python3-apt python3-requests ca-certificates curl >/dev/null; apt-get clean; rm -rf /var/lib/apt/lists/*; "
    "touch -d '2 days ago' /var/lib/apt/lists"
)


def fresh_pair(kind):
    """Fresh bench-node-1 (for site.yml) and bench-raw (for the raw steps), both of the given kind."""
    fleet(ENV, "absent", ["bench-node-1", "bench-raw"])
    fleet(ENV, "present", ["bench-node-1", "bench-raw"])
    if kind == "standard":
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda n: run("docker", "exec", n, "bash", "-c", STANDARD), ["bench-node-1", "bench-raw"]))


def bare_rows(inv, tarball, image, size_note, rounds, *args):
    """The bare-node rows, the medians of `rounds` runs on fresh pairs of each kind, and where site.yml's time went
    (the last standard run)."""
    rows, cpus = [], {}
    for kind in ("minimal", "standard"):
        runs = []
        for _ in range(rounds):
            fresh_pair(kind)
            raw, copy = raw_steps("bench-raw", tarball, image)
            bare, cpu, profile = profiled_site(inv, "--skip-tags", "verify", *args)
            runs.append((bare, raw, copy, cpu))
        bare, raw, copy, cpus[kind] = (median(r[i] for r in runs) for i in range(4))
        label = f"bare {kind} node -> models ready (tarball{size_note}"
        if rounds > 1:
            label += f", medians of {rounds} rounds; each: " + " / ".join(f"{b / r:.2f}x" for b, r, _, _ in runs)
        rows.append((label + ")", bare, "raw: engine + load + run + wait", raw))
        rows.append(("same", bare, "raw + the tarball's copy (docker cp)", raw + copy))
    report = playbook(inv, str(ROOT / "playbooks" / "verify.yml"), "-l", "bench-node-1", *args)
    rows.append(("site.yml's report play alone (health, models, sample inference)", report, "-", 0.0))
    return rows, (cpus, profile)


def main():
    args = sys.argv[1:]
    grow = int(args[args.index("--grow") + 1]) if "--grow" in args else 0
    rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 1
    nodes = ["bench-node-1", "bench-node-2", "bench-node-3"]
    fleet(ENV, "absent", [*nodes, "bench-raw"])
    work = Path(tempfile.mkdtemp(prefix="bench-site-", dir="/var/tmp"))
    try:
        inv = bench_inventory(work / "inventory")
        if grow:
            tarball, image, sha256 = grown(work, grow)
            (work / (tarball.name + ".sha256")).write_text(f"{sha256}  {tarball.name}\n")
            tag = image.split(":", 1)[1]
            size = f", {tarball.stat().st_size / 2**20:.0f} MiB"
            grown_vars = f"lab_tarball={tarball} lab_triton_tag={tag}"
            rows, (cpus, profile) = bare_rows(inv, tarball, image, size, rounds, "-e", grown_vars)
        else:
            rows, (cpus, profile) = bare_rows(inv, TARBALL, IMAGE, "", rounds)
            fleet(ENV, "present", nodes)
            playbook(inv, "site.yml", "-e", "triton_rollout_serial=3")
            for limit, label in (("bench-node-1", "1 node"), ("all", "3 nodes")):
                again = playbook(inv, "site.yml", "-l", limit, "-e", "triton_rollout_serial=3")
                base = playbook(inv, str(ROOT / "benchmarks" / "ping.yml"), "-l", limit)
                rows.append((f"no-change re-run of site.yml, {label}", again, "gather facts + ping", base))
                full = playbook(inv, "site.yml", "-l", limit, "-e", "triton_rollout_serial=3 site_skip_converged=false")
                rows.append((f"same, every role run (site_skip_converged=false), {label}", full, "same", base))
    finally:
        fleet(ENV, "absent", [*nodes, "bench-raw"])
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(COLLECTIONS, ignore_errors=True)
    print("| measure | seconds | baseline | seconds | ratio |")
    print("|---|---:|---|---:|---:|")
    for what, ours, base_what, base in rows:
        ratio = f"{ours / base:.2f}x" if base else "-"
        print(f"| {what} | {ours:.1f} | {base_what} | {base:.1f} | {ratio} |")
    used = ", ".join(f"{cpu:.1f} s on a {kind} node" for kind, cpu in cpus.items())
    print(f"\nthe bare-node run's controller CPU (ansible-playbook, workers, clients): {used}")
    print("\nwhere the last standard node's time goes:\n\n| role or play | tasks run | tasks skipped | seconds |")
    print("|---|---:|---:|---:|")
    for role, (ran, skipped, seconds) in sorted(profile.items(), key=lambda kv: -kv[1][2]):
        print(f"| {role} | {ran} | {skipped} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
