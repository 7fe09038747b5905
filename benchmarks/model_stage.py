#!/usr/bin/env python3
"""Benchmark gpufleet.triton.model_stage on a large model against a plain copy of its folder; prints a table.

One lab container (the debian12 instance image, sshd added) receives a model folder holding a config and one large
weights file (random bytes), over the Docker connection (the lab's) and SSH (a fleet's). For each: the plain copy of
the folder (`docker cp`, `scp -r`: the baseline) and model_stage (the connection's transfer, then the node unpacks
the archive). Seconds are whole ad-hoc `ansible` runs minus an `ansible -m ping` run; each is the best of two, each
started after `sync` on a node without the model. The controller packs the archive before sending it, so the
model_stage column includes that packing.
A second table stages the model into three containers at once over the Docker connection, against three `docker cp`
at once: the controller packs the archive once for the three (RV archive_shared), as in a rollout.

With --standard, instead: model_stage against the standard ways over the Docker connection, on a repository of
two models (big: a config and the weights file; small: a config and 40 files of 64 KiB), as the role stages them: a
first converge stages both into an empty staging folder, a model change stages the changed one (big). The standard
ways: ansible.builtin.copy of the folders; community.general.archive on the controller (uncompressed tar) then
ansible.builtin.unarchive, followed by the role's digest check (gpufleet.triton.triton_server_node_info on the
staged copy, compared with the controller's digests), which model_stage's per-file sha256 check stands in for.

Each way is one ansible-playbook run of a play (the tasks as the role would run them) minus a run of a play that
only pings. Run from the checkout after `make lab`.
Usage: model_stage.py [--standard [--runs N, default 3] [--ways model_stage,copy,archive+unarchive+digest]] [MiB]
"""

import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _lab import VENV, collection_root, ssh_nodes
from verified_copy import IMAGE, ansible_env, best, run, timed
from verified_copy import ansible as ansible_on

NODE = "bench-model-stage"
FLEET = [NODE, "bench-model-stage-2", "bench-model-stage-3"]
DEST = "/var/cache/bench/staging"


def ansible(env, transport, module, args):
    return ansible_on(env, transport, module, args, node=NODE)


def transports(work):
    """How ansible and the plain copy reach the node, per transport."""
    key, addrs, ssh_opts = ssh_nodes(work, [NODE])
    addr = addrs[NODE]
    opts = ["-i", str(key), *ssh_opts]
    login = {"ansible_host": addr, "ansible_user": "root", "ansible_ssh_private_key_file": str(key),
             "ansible_ssh_common_args": " ".join(ssh_opts)}  # fmt: skip
    return {
        "docker": {
            "ansible": ["-c", "community.docker.docker"],
            "plain": lambda folder: ("docker", "cp", str(folder), f"{NODE}:{DEST}/"),
            "name": "`docker cp`",
        },
        "ssh": {
            "ansible": ["-c", "ssh", "-e", json.dumps(login)],
            "plain": lambda folder: ("scp", "-q", "-r", *opts, str(folder), f"root@{addr}:{DEST}/"),
            "name": "`scp -r`",
        },
    }


def main():
    args = sys.argv[1:]
    if "--standard" in args:
        args.remove("--standard")
        runs = int(args.pop(args.index("--runs") + 1)) if "--runs" in args else 3
        if "--runs" in args:
            args.remove("--runs")
        chosen = args.pop(args.index("--ways") + 1).split(",") if "--ways" in args else None
        if "--ways" in args:
            args.remove("--ways")
        standard(int(args[0]) if args else 1024, runs, chosen)
        return
    mib = int(args[0]) if args else 1024
    work = collection_root(Path(tempfile.mkdtemp(prefix="bench-model-stage-", dir="/var/tmp")))
    env = ansible_env(work)
    model = work / "models" / "big"
    (model / "1").mkdir(parents=True)
    (model / "config.pbtxt").write_text('backend: "python"\n')
    with (model / "1" / "model.bin").open("wb") as out:
        for _ in range(mib):
            out.write(os.urandom(1 << 20))
    rows = []
    try:
        for node in FLEET:
            run("docker", "rm", "-f", node, check=False)
            run("docker", "run", "-d", "--name", node, "--entrypoint", "sleep", IMAGE, "infinity")
        reset = ("docker", "exec", NODE, "sh", "-c", f"rm -rf {DEST} && mkdir -p {DEST}")
        for name, transport in transports(work).items():
            ping, _ = ansible(env, transport, "ansible.builtin.ping", {})
            plain, _ = best(reset, timed, *transport["plain"](model))
            args = {"src": str(model.parent), "dest": DEST, "models": ["big"]}
            took, res = best(reset, ansible, env, transport, "gpufleet.triton.model_stage", args)
            result = json.loads(res.stdout)["plays"][0]["tasks"][0]["hosts"][NODE]
            assert result["changed"], result
            rows.append((name, ping, transport["name"], plain, took - ping))
        fleet = three_nodes(env, model)
    finally:
        for node in FLEET:
            run("docker", "rm", "-f", node, check=False)
        shutil.rmtree(work, ignore_errors=True)
    print(f"model: config.pbtxt and 1/model.bin of {mib} MiB; an `ansible -m ping` run is subtracted from each\n")
    print("| transport | plain copy s | model_stage s | model_stage / plain |")
    print("|---|---:|---:|---:|")
    for name, ping, plain_name, plain, took in rows:
        print(f"| {name} (ping {ping:.2f} s) | {plain:.2f} ({plain_name}) | {took:.2f} | {took / plain:.2f}x |")
    plain, took, shared = fleet
    print("\nthree nodes at once over the Docker connection (an `ansible -m ping` of the three subtracted)\n")
    print("| plain copy s (three `docker cp` at once) | model_stage s | nodes sent an archive packed for another "
          "| model_stage / plain |")  # fmt: skip
    print("|---:|---:|---:|---:|")
    print(f"| {plain:.2f} | {took:.2f} | {shared} of 3 | {took / plain:.2f}x |")


def three_nodes(env, model):
    """(plain seconds, model_stage seconds, nodes whose archive was shared) for the three containers at once."""
    reset = ("sh", "-c", " && ".join(f"docker exec {n} sh -c 'rm -rf {DEST} && mkdir -p {DEST}'" for n in FLEET))
    transport = {"ansible": ["-c", "community.docker.docker"]}
    nodes = ",".join(FLEET)
    ping, _ = ansible_on(env, transport, "ansible.builtin.ping", {}, node=nodes)

    def plain_copies():
        start = time.monotonic()
        with ThreadPoolExecutor(len(FLEET)) as pool:
            list(pool.map(lambda n: run("docker", "cp", str(model), f"{n}:{DEST}/"), FLEET))
        return time.monotonic() - start, None

    plain, _ = best(reset, plain_copies)
    args = {"src": str(model.parent), "dest": DEST, "models": ["big"]}
    took, res = best(reset, ansible_on, env, transport, "gpufleet.triton.model_stage", args, nodes)
    results = json.loads(res.stdout)["plays"][0]["tasks"][0]["hosts"]
    assert all(r["changed"] for r in results.values()), results
    return plain, took - ping, sum(bool(r.get("archive_shared")) for r in results.values())


def standard(mib, runs=3, chosen=None):
    """model_stage against ansible.builtin.copy and archive + unarchive (+ the digest check), first converge and a
    model change, over the Docker connection; prints a table."""
    work = collection_root(Path(tempfile.mkdtemp(prefix="bench-model-stage-std-", dir="/var/tmp")))
    env = ansible_env(work)
    repo = work / "models"
    (repo / "big" / "1").mkdir(parents=True)
    (repo / "big" / "config.pbtxt").write_text('backend: "python"\n')
    with (repo / "big" / "1" / "model.bin").open("wb") as out:
        for _ in range(mib):
            out.write(os.urandom(1 << 20))
    (repo / "small" / "1").mkdir(parents=True)
    (repo / "small" / "config.pbtxt").write_text('backend: "python"\n')
    for n in range(40):
        (repo / "small" / "1" / f"part{n}.bin").write_bytes(os.urandom(64 << 10))
    tarball = work / "models.tar"
    reset = ("docker", "exec", NODE, "sh", "-c", f"rm -rf {DEST} && mkdir -p {DEST}")
    inventory = work / "hosts.yml"
    inventory.write_text(f"all:\n  hosts:\n    {NODE}:\n      ansible_connection: community.docker.docker\n")
    ways = {
        "model_stage": [{"gpufleet.triton.model_stage": {"src": str(repo), "dest": DEST, "models": "{{ models }}"}}],
        "copy": [{"ansible.builtin.copy": {"src": f"{repo}/{{{{ item }}}}", "dest": DEST + "/"},
                  "loop": "{{ models }}"}],
        "archive+unarchive+digest": [
            {"community.general.archive": {"path": f"{{{{ models | map('regex_replace', '^', '{repo}/') }}}}",
                                           "dest": str(tarball), "format": "tar"},
             "delegate_to": "localhost", "run_once": True},
            {"ansible.builtin.unarchive": {"src": str(tarball), "dest": DEST}},
            {"gpufleet.triton.triton_server_node_info": {"repository": str(repo)}, "delegate_to": "localhost",
             "run_once": True, "register": "here"},
            {"gpufleet.triton.triton_server_node_info": {"repository": DEST, "models": "{{ models }}"},
             "register": "there"},
            {"ansible.builtin.assert": {"that": "there.model_digests == here.model_digests | dict2items "
                                                "| selectattr('key', 'in', models) | items2dict"}},
        ],
        "ping": [{"ansible.builtin.ping": {}}],
    }  # fmt: skip

    def played(way, models):
        tarball.unlink(missing_ok=True)
        book = work / f"{way}.yml"
        book.write_text(json.dumps([{"hosts": "all", "gather_facts": False, "tasks": ways[way]}]))
        cmd = [str(VENV / "ansible-playbook"), "-i", str(inventory), str(book),
               "-e", json.dumps({"models": models})]  # fmt: skip
        return timed(*cmd, env=env)

    rows = []
    try:
        run("docker", "rm", "-f", NODE, check=False)
        run("docker", "run", "-d", "--name", NODE, "--entrypoint", "sleep", IMAGE, "infinity")
        ping = min(played("ping", [])[0] for _ in range(2))
        for label, models in (("first converge (big + small)", ["big", "small"]), ("model change (big)", ["big"])):
            times = {}
            for way in chosen or ("model_stage", "copy", "archive+unarchive+digest"):
                times[way] = []
                for _ in range(runs):
                    times[way].append(best(reset, played, way, models, times=1)[0] - ping)
                    print(f"{label}, {way}: {times[way][-1]:.2f} s", file=sys.stderr, flush=True)
            rows.append((label, times))
    finally:
        run("docker", "rm", "-f", NODE, check=False)
        shutil.rmtree(work, ignore_errors=True)
    print(f"big: config.pbtxt and 1/model.bin of {mib} MiB; small: config.pbtxt and 40 files of 64 KiB; Docker "
          f"connection; seconds of a play minus a ping play ({ping:.2f} s), {runs} runs each\n")  # fmt: skip
    print("| staging | model_stage s (each) | copy s (each) | archive + unarchive + digest check s (each) "
          "| copy / model_stage (medians) | archive way / model_stage (medians) |")  # fmt: skip
    print("|---|---|---|---|---:|---:|")
    for label, times in rows:
        med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
        cells = " | ".join(" / ".join(f"{t:.2f}" for t in times.get(k, [])) or "-" for k in ways if k != "ping")
        ratios = " | ".join(f"{med[k] / med['model_stage']:.2f}x" if k in med and "model_stage" in med else "-"
                            for k in ("copy", "archive+unarchive+digest"))  # fmt: skip
        print(f"| {label} | {cells} | {ratios} |")


if __name__ == "__main__":
    main()
