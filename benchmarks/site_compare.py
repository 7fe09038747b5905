#!/usr/bin/env python3
"""Compare two revisions of this checkout on the bare-node run; prints a Markdown table.

site.yml to models ready (--skip-tags verify) on a fresh lab node, once per revision per round, the order alternating
between rounds, with each run's wall time and the controller's CPU time (ansible-playbook, its workers and the
connection's clients; what grows with the fleet). Then, on that node, a model change: one file of one model of the
lab's repository (a copy of lab/model_repository that both revisions deploy) changes, and site.yml runs again, which
stages, swaps and restarts; a second table gives those runs. A single run on this lab's shared VM moves by 1-1.5 s;
compare the medians of several rounds, and the CPU times, which move far less.

Run from the checkout after `make lab`. Each revision is checked out into a temporary git worktree (the working tree,
uncommitted changes included, when the revision is "."). Creates and removes bench-node-1.
Usage: site_compare.py REV_A REV_B [rounds, default 3]   e.g. site_compare.py HEAD~1 .
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from _lab import ROOT, VENV, bench_inventory, checkout, collection_root, fleet, measured

NODE = "bench-node-1"


def site(checkout_dir, env, inv, models):
    """site.yml to models ready on NODE, deploying the repository `models`: (wall seconds, controller CPU seconds)."""
    cmd = ["ansible-playbook", "site.yml", "-i", inv, "-l", NODE, "--skip-tags", "verify",
           "-e", f"lab_checkout={checkout_dir}", "-e", f"triton_server_model_repository_src={models}"]  # fmt: skip
    res, wall, cpu = measured(cmd, checkout_dir, env)
    if res.returncode != 0:
        sys.exit(f"site.yml failed in {checkout_dir}:\n{res.stdout[-3000:]}\n{res.stderr[-2000:]}")
    return wall, cpu


def bare_and_change(checkout_dir, env, inv, models, n):
    """site.yml on a fresh node, then again after one model's file changed: ((wall, CPU), (wall, CPU))."""
    shutil.rmtree(models, ignore_errors=True)
    shutil.copytree(ROOT / "lab" / "model_repository", models)
    fleet(env, "absent", [NODE])
    for attempt in range(3):  # on a loaded host lab/fleet.yml may ask systemd before the node has booted it
        try:
            fleet(env, "present", [NODE])
            break
        except SystemExit:
            if attempt == 2:
                raise
            time.sleep(10)
    time.sleep(5)  # the node's own start-up, off the clock
    bare = site(checkout_dir, env, inv, models)
    with (models / "identity" / "1" / "model.py").open("a") as handle:
        handle.write(f"# model change {n}\n")
    return bare, site(checkout_dir, env, inv, models)


def main():
    args = sys.argv[1:]
    if len(args) not in (2, 3):
        sys.exit(__doc__)
    rounds = int(args[2]) if len(args) == 3 else 3
    work = Path(tempfile.mkdtemp(prefix="bench-site-compare-"))
    (work / "revs").mkdir()
    sides = []
    try:
        for rev in args[:2]:
            folder, label = checkout(rev, work / "revs")
            collections = collection_root(work / f"collections-{len(sides)}")
            link = collections / "ansible_collections" / "gpufleet" / "triton"
            link.unlink()
            link.symlink_to(folder)
            env = dict(os.environ, PATH=f"{VENV}:{os.environ['PATH']}", ANSIBLE_ROLES_PATH=str(folder / "roles"),
                       ANSIBLE_COLLECTIONS_PATH=str(collections))  # fmt: skip
            sides.append({"rev": rev, "label": label, "dir": folder, "env": env, "runs": [], "changes": []})
        inv = bench_inventory(work / "inventory")
        for n in range(rounds):
            for side in sides if n % 2 == 0 else sides[::-1]:
                bare, change = bare_and_change(side["dir"], side["env"], inv, work / "models", n)
                side["runs"].append(bare)
                side["changes"].append(change)
                done = f"bare {bare[0]:.1f} s (CPU {bare[1]:.2f} s), change {change[0]:.1f} s (CPU {change[1]:.2f} s)"
                print(f"round {n + 1}, {side['label']}: {done}", file=sys.stderr, flush=True)
    finally:
        fleet(sides[0]["env"] if sides else dict(os.environ, PATH=f"{VENV}:{os.environ['PATH']}"), "absent", [NODE])
        for side in sides:
            if side["dir"] != ROOT:
                subprocess.run(["git", "worktree", "remove", "--force", str(side["dir"])], cwd=ROOT, check=False)
        shutil.rmtree(work, ignore_errors=True)
    for title, key in (("bare node -> models ready", "runs"), ("model change (one file of one model)", "changes")):
        print(f"\n{title}\n")
        print("| revision | runs | wall s (each) | wall s (median) | controller CPU s (each) | CPU s (median) |")
        print("|---|---:|---|---:|---|---:|")
        for side in sides:
            walls = [w for w, _ in side[key]]
            cpus = [c for _, c in side[key]]
            print(
                f"| {side['rev']} ({side['label']}) | {len(walls)} | {' / '.join(f'{w:.1f}' for w in walls)} "
                f"| {median(walls):.1f} | {' / '.join(f'{c:.2f}' for c in cpus)} | {median(cpus):.2f} |"
            )


if __name__ == "__main__":
    main()
