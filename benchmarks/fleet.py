#!/usr/bin/env python3
"""Benchmark the lab fleet as fleets are run: SSH as `deploy` with sudo, N nodes; prints one Markdown table.

For each fleet size N (default 1, 4, 8, 16) a fleet of N bare nodes is made anew with `lab/fleet.yml` beside the lab
fleet (bench-fleet-1..N, same image, same parts by number) and these runs go over an inventory that finds it as
`inventories/lab` finds the lab fleet, with inventories/lab's group_vars, one after the other:

- floor:    a play that gathers the facts site.yml gathers (min, virtual) and pings every node, all at once;
- first:    site.yml from bare nodes until every model is ready (its default batches: 1 node, 10%, then 25%);
- nochange: site.yml again, nothing to do (--rounds R: R times, the median);
- models:   site.yml after one model's config changed (a model-repository change rolled across the fleet);
- upgrade:  site.yml with another Triton image (the lab image plus one small layer, as a tarball for the air-gapped
            nodes and in the registry for the others), rolled across the fleet.

Each run is printed as wall seconds, its ratio to the floor, the controller's CPU seconds per node and per task (a
task on one host: the PLAY RECAP's ok + skipped + failed), the controller's peak memory, and the 1-minute load average
(at the run's end, and the highest seen). CPU and memory are those of every process of the run, ansible-playbook,
its workers and the ssh clients and ControlPersist masters that carry its traffic: each run gets cgroups of its own
(v2 cpu.stat and memory.peak, or v1 cpuacct.usage and memory.max_usage_in_bytes, the latter two counting the page
cache the run reads), else the CPU of the processes it waited for and the largest RSS sum sampled from /proc; the
table says which. Every run starts with a fresh ssh ControlPath folder, so connections are opened anew in each (as
in a run minutes after the last).

Goals (ratios, not timed tests): nochange <= 2x the floor at N=16; CPU per node flat (+-20%) from N=4 to N=16.
On 2 cores shared by the controller and N nodes, wall time is the lab's limit; CPU seconds are what scale.

Run from the checkout after `make lab` (it uses the lab's tarball, registry and SSH key). --json FILE writes the
figures too. It removes its fleet at the end (--keep leaves it). Usage: fleet.py [--sizes 1,4,8,16] [--rounds R]

--ab-stamp N instead weighs the converge stamp: on a converged fleet of N nodes (stamp-ab-1..N), the no-change run
with the stamp and without it (-e site_skip_converged=false: every role on every node), alternating for --rounds
rounds, each run's wall and CPU seconds, host-tasks, changes and load; then the medians and whether removing the
stamp costs more than 10% and more than twice the larger spread of either side (CPU seconds decide: other jobs on
the machine move wall time more).

--ab-revs A,B[,C...] instead weighs revisions of the collection (a piece of machinery and its standard replacement):
each on a fresh fleet of N (the first of --sizes) bare nodes, the first converge and a model change, the order
alternating for --rounds rounds; with --same-fleet only model changes, on one fleet A converged. Each revision is
compared with A (medians, spreads, the same 10% and twice-the-spread rule), and the tasks that cost the controller
most are listed per revision (benchmarks/callback_plugins/task_cost.py).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from statistics import median

from _lab import ROOT, UPGRADE_TAG, VENV, checkout, collection_root, env_for, fleet_inventory, sh, upgrade_image

FLEET = "bench-fleet"
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", re.M)
FLOOR = """---
- name: Floor
  hosts: triton_nodes
  gather_facts: true
  module_defaults:
    ansible.builtin.setup:
      gather_subset: [min, virtual]
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""


class Cgroup:
    """Each run in cgroups of its own, where this machine lets us make them: its peak memory (v2 memory.peak, v1
    memory.max_usage_in_bytes) and its CPU time (v2 cpu.stat, v1 cpuacct.usage), which count every process of the
    run, the ssh ControlPersist masters that carry its traffic included (they are not children it waits for). Else
    the peak is the largest sum of RSS sampled from /proc and the CPU that of the processes the run waited for."""

    def __init__(self):
        self.version, self.folders = None, []
        v2, v1 = Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup")
        if (v2 / "cgroup.controllers").exists() and self._usable([v2], ["memory.peak", "cpu.stat"]):
            self.version, self.bases = 2, [v2]
        elif self._usable([v1 / "memory", v1 / "cpuacct"], ["memory.max_usage_in_bytes", "cpuacct.usage"]):
            self.version, self.bases = 1, [v1 / "memory", v1 / "cpuacct"]
        self.memory_kind = {
            2: "cgroup v2 memory.peak of the run's own cgroup (page cache it reads included)",
            1: "cgroup v1 memory.max_usage_in_bytes of the run's own cgroup (page cache it reads included)",
            None: "largest sum of the run's processes' RSS, sampled every 0.2 s from /proc",
        }[self.version]
        self.cpu_kind = {
            2: "cgroup v2 cpu.stat of the run's own cgroup: every process of the run, ssh masters included",
            1: "cgroup v1 cpuacct.usage of the run's own cgroup: every process of the run, ssh masters included",
            None: "the processes ansible-playbook waited for (ssh ControlPersist masters not counted)",
        }[self.version]

    @staticmethod
    def _usable(bases, files) -> bool:
        made = []
        try:
            for base in bases:
                probe = base / f"gpufleet-bench-{os.getpid()}-probe"
                probe.mkdir()
                made.append(probe)
            return all(any((m / f).exists() for m in made) for f in files)
        except OSError:
            return False
        finally:
            for m in made:
                m.rmdir()

    def start(self, cmd: list) -> list:
        """cmd, to be started inside new cgroups (its children follow it there)."""
        if not self.version:
            return cmd
        name = f"gpufleet-bench-{os.getpid()}-{time.monotonic_ns()}"
        self.folders = [base / name for base in self.bases]
        for folder in self.folders:
            folder.mkdir()
        join = " && ".join(f"echo $$ > {folder}/cgroup.procs" for folder in self.folders)
        return ["sh", "-c", f'{join} && exec "$@"', "sh", *cmd]

    def finish(self, sampled_memory: int, waited_cpu: float) -> tuple:
        """(peak memory bytes, CPU seconds) of the run that just ended."""
        if not self.version:
            return sampled_memory, waited_cpu
        if self.version == 2:
            peak = int((self.folders[0] / "memory.peak").read_text())
            usec = next(int(line.split()[1]) for line in (self.folders[0] / "cpu.stat").read_text().splitlines()
                        if line.startswith("usage_usec"))  # fmt: skip
            cpu = usec / 1e6
        else:
            peak = int((self.folders[0] / "memory.max_usage_in_bytes").read_text())
            cpu = int((self.folders[1] / "cpuacct.usage").read_text()) / 1e9
        for folder in self.folders:  # the ssh masters linger up to ControlPersist; then the kernel may drop it
            try:
                folder.rmdir()
            except OSError:
                pass
        return peak, cpu


def tree_rss(root_pid: int) -> int:
    """Sum of RSS bytes of root_pid and its descendants."""
    children, rss = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def measured_run(cmd: list, env: dict, cgroup: Cgroup, log: Path, check: bool = True, cwd: Path = ROOT) -> dict:
    """Run cmd: wall and CPU seconds (it and everything it waited for), peak memory, load, host-tasks, and what each
    task cost (benchmarks/callback_plugins/task_cost.py). A failed run ends the benchmark, unless check is false (then
    "rc" says it failed)."""
    costs = log.with_suffix(".tasks.json")
    env = dict(env, ANSIBLE_SSH_CONTROL_PATH_DIR=tempfile.mkdtemp(prefix="bench-fleet-cp-"),
               ANSIBLE_CALLBACK_PLUGINS=str(ROOT / "benchmarks" / "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="task_cost", GPUFLEET_TASK_COST=str(costs))  # fmt: skip
    load_start = float(Path("/proc/loadavg").read_text().split()[0])
    before = os.times()
    start = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(cgroup.start(cmd), cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        sampled, loads, done = [0], [], threading.Event()

        def sample():
            while not done.wait(0.2):
                sampled[0] = max(sampled[0], tree_rss(proc.pid))
                loads.append(float(Path("/proc/loadavg").read_text().split()[0]))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        rc = proc.wait()
        done.set()
        sampler.join()
    wall, after = time.monotonic() - start, os.times()
    shutil.rmtree(env["ANSIBLE_SSH_CONTROL_PATH_DIR"], ignore_errors=True)
    text = log.read_text()
    if rc != 0 and check:
        sys.exit(f"{' '.join(cmd)} failed (rc {rc}); its output: {log}\n{text[-4000:]}")
    recap = [m for m in RECAP.findall(text) if m[0] != "localhost"]
    tasks = sum(int(m[1]) + int(m[5]) + int(m[4]) for m in recap)
    waited = after.children_user - before.children_user + after.children_system - before.children_system
    peak, cpu = cgroup.finish(sampled[0], waited)
    return {
        "wall": wall,
        "cpu": cpu,
        "cpu_waited": waited,
        "memory": peak,
        "load_start": load_start,
        "load_end": float(Path("/proc/loadavg").read_text().split()[0]),
        "load_max": max(loads, default=0.0),
        "tasks": tasks,
        "changed": sum(int(m[2]) for m in recap),
        "rc": rc,
        "task_costs": json.loads(costs.read_text()) if costs.exists() else {},
    }


def inventory(work: Path, name: str = FLEET) -> str:
    """inventories/lab, finding this benchmark's fleet (named `name`) instead of the lab's."""
    return fleet_inventory(work / f"inventory-{name}", name)


def fleet(env: dict, work: Path, *args, name: str = FLEET) -> None:
    sh(str(VENV / "ansible-playbook"), "-i", inventory(work, name), "lab/fleet.yml", "-e", f"lab_fleet_name={name}",
       *args, env=env)  # fmt: skip


def one_size(n: int, rounds: int, env: dict, cgroup: Cgroup, work: Path) -> dict:
    models = work / f"models-{n}"
    shutil.rmtree(models, ignore_errors=True)
    shutil.copytree(ROOT / "lab" / "model_repository", models)
    fleet(env, work, "-e", "lab_fleet_state=absent")
    fleet(env, work, "-e", f"lab_fleet_size={n}")
    site = [str(VENV / "ansible-playbook"), "-i", inventory(work), "site.yml",
            "-e", f"triton_server_model_repository_src={models}"]  # fmt: skip
    floor = work / "floor.yml"
    floor.write_text(FLOOR)
    logs = work / f"logs-{n}"
    logs.mkdir(exist_ok=True)
    out = {}

    def run(name, cmd):
        result = measured_run(cmd, env, cgroup, logs / f"{name}.log")
        print(f"  N={n} {name}: {result['wall']:.1f} s, CPU {result['cpu']:.1f} s, {result['tasks']} host-tasks",
              file=sys.stderr, flush=True)  # fmt: skip
        return result

    floor_cmd = [str(VENV / "ansible-playbook"), "-i", inventory(work), str(floor)]
    out["floor"] = run("floor", floor_cmd)
    out["first"] = run("first", site)
    nochange = [run(f"nochange-{i}", site) for i in range(rounds)]
    floors = [out["floor"]] + [run(f"floor-{i}", floor_cmd) for i in range(1, rounds)]
    out["floor"] = sorted(floors, key=lambda r: r["wall"])[len(floors) // 2]
    out["nochange"] = sorted(nochange, key=lambda r: r["wall"])[len(nochange) // 2]
    out["nochange"]["rounds"] = [r["wall"] for r in nochange]
    out["floor"]["rounds"] = [r["wall"] for r in floors]
    config = models / "identity" / "config.pbtxt"
    config.write_text(config.read_text() + '\nparameters: { key: "bench_revision" value: { string_value: "2" } }\n')
    out["models"] = run("models", site)
    out["upgrade"] = run("upgrade", [*site, "-e", f"lab_triton_tag={UPGRADE_TAG}"])
    return out


AB_FLEET = "stamp-ab"


def ab_stamp(n: int, rounds: int, env: dict, cgroup: Cgroup, work: Path, reuse: bool = False) -> dict:
    """The converge stamp's worth: on a converged fleet of n nodes, site.yml with nothing to do, with the stamp
    (`on`: the find-nodes play skips converged nodes) and without it (`off`: -e site_skip_converged=false, every
    role on every node), alternating, the order swapped each round (on/off, off/on, ...) so that a drift of the
    machine's load falls on both alike. `off` does not write the stamp, so the next `on` finds it as it was.
    Triton may take longer than the lab's 180 s to start on a loaded machine: the converge may take three tries, with
    a longer start timeout (the no-change runs start no Triton; the same setting for all keeps their digest equal)."""
    models = work / f"models-ab-{n}"
    shutil.rmtree(models, ignore_errors=True)
    shutil.copytree(ROOT / "lab" / "model_repository", models)
    if not reuse:
        fleet(env, work, "-e", "lab_fleet_state=absent", name=AB_FLEET)
    fleet(env, work, "-e", f"lab_fleet_size={n}", name=AB_FLEET)
    site = [str(VENV / "ansible-playbook"), "-i", inventory(work, AB_FLEET), "site.yml",
            "-e", f"triton_server_model_repository_src={models}", "-e", "triton_server_start_timeout=900"]  # fmt: skip
    modes = {"on": site, "off": [*site, "-e", "site_skip_converged=false"]}
    logs = work / f"logs-ab-{n}"
    logs.mkdir(exist_ok=True)

    def run(name, cmd, check=True):
        r = measured_run(cmd, env, cgroup, logs / f"{name}.log", check=check)
        print(f"  N={n} {name}: {r['wall']:.1f} s, CPU {r['cpu']:.1f} s, {r['tasks']} host-tasks, "
              f"{r['changed']} changed, rc {r['rc']}, load {r['load_start']:.1f} -> {r['load_end']:.1f}",
              file=sys.stderr, flush=True)  # fmt: skip
        return r

    for attempt in range(3):  # all nodes at once: triton_rollout_serial enters no digest
        first = run(f"first-{attempt}", [*site, "-e", "triton_rollout_serial=100%"], check=attempt == 2)
        if first["rc"] == 0:
            break
    out = {"first": first, "runs": []}
    for i in range(rounds):
        for mode in ("on", "off") if i % 2 == 0 else ("off", "on"):
            out["runs"].append(dict(run(f"{mode}-{i}", modes[mode]), round=i, stamp=mode))
    return out


def ab_table(n: int, res: dict, cgroup: Cgroup) -> str:
    """Every run of the A/B, then the medians, spreads and the verdict (keep the stamp if removing it costs more
    than 10% and more than twice the larger spread, of CPU seconds; wall time is the lab's load as much as ours)."""
    lines = [
        f"Controller CPU: {cgroup.cpu_kind}.",
        "",
        "| N | round | stamp | wall s | CPU s | host-tasks | changed | load 1m (start / end / max) |",
        "|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in res["runs"]:
        lines.append(
            f"| {n} | {r['round']} | {r['stamp']} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['tasks']} | {r['changed']} | "
            f"{r['load_start']:.1f} / {r['load_end']:.1f} / {r['load_max']:.1f} |"
        )
    lines += ["", "| measure | stamp on: median (min-max) | stamp off: median (min-max) | off / on | off - on "
              "| 2x larger spread | keep? |", "|---|---|---|---:|---:|---:|---|"]  # fmt: skip
    for key, label in (("cpu", "controller CPU s"), ("wall", "wall s")):
        on = [r[key] for r in res["runs"] if r["stamp"] == "on"]
        off = [r[key] for r in res["runs"] if r["stamp"] == "off"]
        spread = max(max(on) - min(on), max(off) - min(off))
        diff = median(off) - median(on)
        keep = diff > 0.10 * median(on) and diff > 2 * spread
        lines.append(
            f"| {label} | {median(on):.1f} ({min(on):.1f}-{max(on):.1f}) | {median(off):.1f} ({min(off):.1f}-"
            f"{max(off):.1f}) | {median(off) / median(on):.1f}x | {diff:.1f} | {2 * spread:.1f} | "
            f"{'yes' if keep else 'no'} |"
        )
    return "\n".join(lines)


REVS_FLEET = "rev-ab"


def ab_revs(
    revs: list, n: int, rounds: int, cgroup: Cgroup, work: Path, same_fleet: bool = False, reuse: bool = False
) -> dict:
    """Revisions of the collection on the runs a change of its machinery affects: for each round and revision
    (the order swapped each round), a fresh fleet of n bare nodes, site.yml to models ready (first), then again after
    one model's config changed (models). Each revision runs from a git worktree of its own ('.' is the working tree),
    with its roles, plugins and site.yml; the lab, its inventory and this script are the working tree's.
    same_fleet: only model changes, all on one fleet that the first revision converged once (for two revisions that
    leave the nodes alike, so that each finds nothing but the changed model to do); reuse: on the fleet a run with
    --keep left, converged already (its models as the lab's, or as a model change left them)."""
    trees = {}
    for rev in revs:
        folder, label = checkout(rev, work / "revs")
        trees[rev] = (folder, label, env_for(collection_root(work / f"collections-{len(trees)}", folder)))
        trees[rev][2]["ANSIBLE_ROLES_PATH"] = str(folder / "roles")
    logs = work / f"logs-revs-{n}"
    logs.mkdir(exist_ok=True)
    runs, models, changes = [], work / f"models-revs-{n}", 0

    def site(folder):
        return [str(VENV / "ansible-playbook"), "-i", inventory(work, REVS_FLEET), str(folder / "site.yml"),
                "-e", f"triton_server_model_repository_src={models}",
                "-e", "triton_server_start_timeout=900"]  # fmt: skip

    def fresh_fleet(env):
        shutil.rmtree(models, ignore_errors=True)
        shutil.copytree(ROOT / "lab" / "model_repository", models)
        fleet(env, work, "-e", "lab_fleet_state=absent", name=REVS_FLEET)
        fleet(env, work, "-e", f"lab_fleet_size={n}", name=REVS_FLEET)

    if same_fleet:
        folder, label, env = trees[revs[0]]
        if reuse:
            shutil.rmtree(models, ignore_errors=True)
            shutil.copytree(ROOT / "lab" / "model_repository", models)
        else:
            fresh_fleet(env)
        measured_run(site(folder), env, cgroup, logs / f"converge-{label}.log", cwd=folder)
    for i in range(rounds):
        for rev in revs if i % 2 == 0 else revs[::-1]:  # A B C, then C B A: a drift of the load falls on all alike
            folder, label, env = trees[rev]
            if not same_fleet:
                fresh_fleet(env)
            for phase in ("models",) if same_fleet else ("first", "models"):
                if phase == "models":
                    changes += 1
                    config = models / "identity" / "config.pbtxt"
                    text = re.sub(r'\nparameters: \{ key: "bench_revision".*\n', "", config.read_text())
                    config.write_text(
                        f'{text}\nparameters: {{ key: "bench_revision" value: {{ string_value: "{changes}" }} }}\n'
                    )
                r = measured_run(site(folder), env, cgroup, logs / f"{phase}-{i}-{label}.log", cwd=folder)
                print(f"  N={n} round {i} {label} {phase}: {r['wall']:.1f} s, CPU {r['cpu']:.1f} s, {r['tasks']} "
                      f"host-tasks, {r['changed']} changed, load {r['load_start']:.1f} -> {r['load_end']:.1f}",
                      file=sys.stderr, flush=True)  # fmt: skip
                runs.append(dict(r, round=i, rev=label, phase=phase))
    for folder, _, _ in trees.values():
        if folder != ROOT:
            subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT, check=False)
    return {"revs": [trees[rev][1] for rev in revs], "runs": runs}


def ab_revs_table(n: int, res: dict, cgroup: Cgroup, top: int = 12) -> str:
    """Every run, then per phase the medians of each revision against the first (A), and whether the other costs more
    than 10% and more than twice the larger spread; then the tasks that cost the controller most in each revision's
    runs (median per task)."""
    a, others = res["revs"][0], res["revs"][1:]
    lines = [f"Controller CPU: {cgroup.cpu_kind}.", "",
             "| N | round | revision | run | wall s | CPU s | host-tasks | changed | load 1m (start / end / max) |",
             "|---:|---:|---|---|---:|---:|---:|---:|---|"]  # fmt: skip
    for r in res["runs"]:
        lines.append(
            f"| {n} | {r['round']} | {r['rev']} | {r['phase']} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['tasks']} | "
            f"{r['changed']} | {r['load_start']:.1f} / {r['load_end']:.1f} / {r['load_max']:.1f} |"
        )
    lines += ["", "| run | measure | A | A: median (min-max) | B | B: median (min-max) | B - A | % of A "
              "| 2x larger spread | B costs >10% and >2x spread? |",
              "|---|---|---|---|---|---|---:|---:|---:|---|"]  # fmt: skip
    phases = [phase for phase in ("first", "models") if any(r["phase"] == phase for r in res["runs"])]
    for b in others:
        for phase in phases:
            for key, label in (("cpu", "controller CPU s"), ("wall", "wall s")):
                va = [r[key] for r in res["runs"] if r["rev"] == a and r["phase"] == phase]
                vb = [r[key] for r in res["runs"] if r["rev"] == b and r["phase"] == phase]
                spread = max(max(va) - min(va), max(vb) - min(vb))
                diff = median(vb) - median(va)
                lines.append(
                    f"| {phase} | {label} | {a} | {median(va):.1f} ({min(va):.1f}-{max(va):.1f}) | {b} | "
                    f"{median(vb):.1f} ({min(vb):.1f}-{max(vb):.1f}) | {diff:+.1f} | {100 * diff / median(va):+.1f}% | "
                    f"{2 * spread:.1f} | {'yes' if diff > 0.10 * median(va) and diff > 2 * spread else 'no'} |"
                )
    for rev in res["revs"]:
        for phase in phases:
            mine = [r for r in res["runs"] if r["rev"] == rev and r["phase"] == phase]
            names = {name for r in mine for name in r["task_costs"]}
            costs = {}
            for name in names:
                seen = [r["task_costs"].get(name, {}) for r in mine]
                costs[name] = (median(c.get("cpu") or 0.0 for c in seen), median(c.get("wall", 0.0) for c in seen))
            total = median(r["cpu"] for r in mine)
            lines += ["", f"{rev}, {phase}: the {top} tasks that cost the controller most (median of the rounds)", "",
                      "| task | CPU s | % of the run's CPU | wall s |", "|---|---:|---:|---:|"]  # fmt: skip
            for name, (cpu, wall) in sorted(costs.items(), key=lambda item: -item[1][0])[:top]:
                lines.append(f"| {name} | {cpu:.2f} | {100 * cpu / total:.1f}% | {wall:.1f} |")
    return "\n".join(lines)


def table(results: dict, cgroup: Cgroup) -> str:
    lines = [
        f"Controller CPU: {cgroup.cpu_kind}. Controller peak memory: {cgroup.memory_kind}.",
        "",
        "| N | run | wall s | x floor | CPU s | CPU s / node | CPU ms / task | host-tasks | peak MiB "
        "| load 1m (end / max) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for n in sorted(results, key=int):
        res = results[n]
        floor = res["floor"]["wall"]
        for name in ("floor", "first", "nochange", "models", "upgrade"):
            r = res[name]
            rounds = f" ({' / '.join(f'{w:.1f}' for w in r['rounds'])})" if len(r.get("rounds", [])) > 1 else ""
            lines.append(
                f"| {n} | {name} | {r['wall']:.1f}{rounds} | {r['wall'] / floor:.2f} | {r['cpu']:.1f} | "
                f"{r['cpu'] / int(n):.2f} | {1000 * r['cpu'] / max(r['tasks'], 1):.0f} | {r['tasks']} | "
                f"{r['memory'] / 2**20:.0f} | {r['load_end']:.1f} / {r['load_max']:.1f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,4,8,16", help="fleet sizes, comma-separated (default 1,4,8,16)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the floor and no-change runs (median)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="leave the last fleet in place")
    parser.add_argument(
        "--ab-stamp",
        type=int,
        metavar="N",
        help="instead: the no-change run on N nodes with the converge stamp and without it (site_skip_converged="
        "false), alternating for --rounds rounds, and whether the stamp is worth keeping",
    )
    parser.add_argument("--reuse", action="store_true",
                        help="--ab-stamp, --ab-revs --same-fleet: converge the fleet left by --keep")  # fmt: skip
    parser.add_argument(
        "--same-fleet",
        action="store_true",
        help="--ab-revs: model changes only, all on one fleet the first revision converged (for revisions that leave "
        "the nodes alike)",
    )
    parser.add_argument(
        "--ab-revs",
        metavar="A,B[,C...]",
        help="instead: revisions ('.' is the working tree) on the first converge and the model change, on a fresh "
        "fleet of the first of --sizes nodes each time, alternating for --rounds rounds; each compared with A",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    env = env_for(collection_root(work / "collections"))
    cgroup = Cgroup()
    results = {}
    if args.ab_revs:
        n = sizes[0]
        try:
            res = ab_revs(
                args.ab_revs.split(","), n, args.rounds, cgroup, work, same_fleet=args.same_fleet, reuse=args.reuse
            )
        finally:
            if not args.keep:
                fleet(env, work, "-e", "lab_fleet_state=absent", name=REVS_FLEET)
        if args.json:
            args.json.write_text(json.dumps({"cpu": cgroup.cpu_kind, "ab_revs": {str(n): res}}, indent=1))
        print(f"benchmarks/fleet.py --ab-revs {args.ab_revs}{' --same-fleet' if args.same_fleet else ''} "
              f"--sizes {n} --rounds {args.rounds}, "
              f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, logs in {work}")  # fmt: skip
        print(ab_revs_table(n, res, cgroup))
        return
    if args.ab_stamp:
        try:
            res = ab_stamp(args.ab_stamp, args.rounds, env, cgroup, work, reuse=args.reuse)
        finally:
            if not args.keep:
                fleet(env, work, "-e", "lab_fleet_state=absent", name=AB_FLEET)
        if args.json:
            args.json.write_text(json.dumps({"cpu": cgroup.cpu_kind, "ab_stamp": {str(args.ab_stamp): res}}, indent=1))
        print(f"benchmarks/fleet.py --ab-stamp {args.ab_stamp}, {time.strftime('%Y-%m-%d %H:%M')}, "
              f"{os.cpu_count()} cores, logs in {work}")  # fmt: skip
        print(ab_table(args.ab_stamp, res, cgroup))
        return
    upgrade_image(env)
    try:
        for n in sizes:
            print(f"N={n}: fresh fleet", file=sys.stderr, flush=True)
            results[str(n)] = one_size(n, args.rounds, env, cgroup, work)
            if args.json:
                args.json.write_text(
                    json.dumps({"memory": cgroup.memory_kind, "cpu": cgroup.cpu_kind, "results": results}, indent=1)
                )
    finally:
        if not args.keep:
            fleet(env, work, "-e", "lab_fleet_state=absent")
    for base in ("/sys/fs/cgroup", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpuacct"):
        for folder in Path(base).glob("gpufleet-bench-*"):
            try:
                folder.rmdir()  # those the ssh masters held until they ended
            except OSError:
                pass
    print(f"benchmarks/fleet.py, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, logs in {work}")
    print(table(results, cgroup))
    nochange = results.get("16", {}).get("nochange")
    if nochange:
        print(f"\nGoal nochange <= 2x floor at N=16: {nochange['wall'] / results['16']['floor']['wall']:.2f}x")
    per_node = {n: results[n]["first"]["cpu"] / int(n) for n in results if int(n) >= 4}
    if len(per_node) > 1:
        mid = median(per_node.values())
        values = ", ".join(f"N={n}: {v:.2f}" for n, v in sorted(per_node.items(), key=lambda item: int(item[0])))
        worst = max(abs(v / mid - 1) for v in per_node.values())
        spread = max(per_node.values()) / min(per_node.values()) - 1
        print(f"First converge CPU per node, N>=4: {values} s; median {mid:.2f} s, farthest from it {100 * worst:.0f}% "
              f"(goal: within 20%); max/min - 1 = {100 * spread:.0f}%")  # fmt: skip


if __name__ == "__main__":
    main()
