#!/usr/bin/env python3
"""Benchmark gpufleet.triton.verified_copy against a plain copy and the copy+stat pair it replaced; prints a table.

One lab container (the debian12 instance image, no systemd needed, sshd added) receives the lab's Triton tarball and
a larger random file, over two transports: the Docker connection (the lab's) and SSH (a fleet's). For each file and
transport: the plain copy (`docker cp`, `scp`: the baseline), the connection's own transfer alone (`docker exec -i
... dd`, which is what the Docker connection's put_file runs; `sftp`, what the SSH connection's runs),
ansible.builtin.copy followed by a stat with sha256 (what image_cache did before), verified_copy on a node without the
file, and verified_copy again (the node has it). Seconds are whole ad-hoc `ansible` runs minus an `ansible -m ping`
run, so Ansible's start-up and one round trip are not counted against the copy. Each plain copy, transfer alone and
first verified_copy is the best of two runs, each started after `sync` on a node without the file. Goal (issue 4):
first copy within 1.3x of the plain copy.

Run from the checkout after `make lab`. Usage: verified_copy.py [size of the large file in MiB, default 2048]

`verified_copy.py become [MiB, default 2816] [rounds, default 3]` measures the fleet's path (SSH as deploy, sudo)
with a `docker save` tarball of the lab image grown by MiB (or BENCH_TARBALL): verified_copy (the connection's
transfer, then one hash on the node) against ansible.builtin.copy (sha1 on both sides), each on a node without the
file, then each again on a node that has it; the variants alternate, in a rotated order each round. (At commit
2e4fc6a this also measured verified_copy hashing the bytes while they arrived, a thread beside the transfer: the
A/B that removed it.)
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _lab import ROOT, TARBALL, VENV, collection_root, grown, ssh_nodes

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


def fresh(reset):
    """Remove the node's copy and write back every dirty page, so no measure pays for the one before it."""
    run(*reset)
    run("sync")


def best(reset, measure, *args, times=2):
    """The fastest of a few runs of measure(*args) -> (seconds, result), each on a node without the file:
    (seconds, the last result)."""
    seconds = []
    for _ in range(times):
        fresh(reset)
        took, res = measure(*args)
        seconds.append(took)
    return min(seconds), res


def ansible_env(work):
    """The environment of the ad-hoc runs: the checkout as the collection, pipelining, JSON output."""
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(work), ANSIBLE_PIPELINING="true",
                ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3", ANSIBLE_LOAD_CALLBACK_PLUGINS="true",
                ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")  # fmt: skip


def ansible(env, transport, module, args, node=NODE):
    params = ["-a", json.dumps(args)] if args else []
    env = dict(env, **transport.get("env", {}))
    return timed(VENV / "ansible", node, "-i", f"{node},", *transport["ansible"], "-m", module, *params, env=env)


def transports(work):
    """How ansible, the plain copy and the connection's own transfer reach the node, per transport."""
    key, addrs, ssh_opts = ssh_nodes(work, [NODE])
    addr = addrs[NODE]
    opts = ["-i", str(key), *ssh_opts]
    ways = {
        "docker": {
            "ansible": ["-c", "community.docker.docker"],
            "plain": lambda path: ("docker", "cp", str(path), f"{NODE}:{DEST}"),
            "own": lambda path: ("sh", "-c", f'docker exec -i {NODE} /bin/sh -c "dd of={DEST} bs=65536" < "{path}"'),
            "names": ("`docker cp`", "`docker exec dd`"),
        },
        "ssh": {
            "ansible": [
                "-c",
                "ssh",
                "-e",
                json.dumps(
                    {
                        "ansible_host": addr,
                        "ansible_user": "root",
                        "ansible_ssh_private_key_file": str(key),
                        "ansible_ssh_common_args": " ".join(opts[2:]),
                    }
                ),
            ],
            "plain": lambda path: ("scp", "-q", *opts, str(path), f"root@{addr}:{DEST}"),
            "own": lambda path: ("sh", "-c", f"echo 'put {path} {DEST}' | sftp -q -b - {' '.join(opts)} root@{addr}"),
            "names": ("`scp`", "`sftp`"),
        },
    }
    # The same SSH path with Ansible's own default ssh_args, which compress (ansible.cfg here leaves -C out). Its own
    # control socket folder: a master opened without -C would otherwise carry these runs too.
    compressed = dict(ways["ssh"], env={"ANSIBLE_SSH_ARGS": "-C -o ControlMaster=auto -o ControlPersist=60s",
                                        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(work / "cp-compressed")})  # fmt: skip
    ways["ssh with -C (Ansible's default ssh_args)"] = compressed
    return ways


def sha256(path):
    return run("sha256sum", str(path)).stdout.split()[0]


BECOME_NODE = "bench-verified-copy-become"
SUDOER = (
    "set -e; id deploy >/dev/null 2>&1 || useradd -m -s /bin/sh deploy; mkdir -p ~deploy/.ssh; "
    "cp /root/.ssh/authorized_keys ~deploy/.ssh/; chown -R deploy ~deploy/.ssh; "
    "echo 'deploy ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/deploy; mkdir -p /var/cache/bench"
)


def become_ab(mib, rounds):
    """The A/B table of the transfer over SSH with become (see the module's docstring)."""
    work = collection_root(Path(tempfile.mkdtemp(prefix="bench-verified-copy-become-", dir="/var/tmp")))
    env = ansible_env(work)
    given = os.environ.get("BENCH_TARBALL")
    tarball, digest = (Path(given), sha256(given)) if given else grown(work, mib)[::2]
    node = BECOME_NODE
    variants = {
        "verified_copy (transfer, then one hash)": ("gpufleet.triton.verified_copy", {"sha256": digest}),
        "ansible.builtin.copy": ("ansible.builtin.copy", {}),
    }  # fmt: skip
    first = {name: [] for name in variants}
    again = {name: [] for name in variants}
    try:
        run("docker", "rm", "-f", node, check=False)
        run("docker", "run", "-d", "--name", node, "--entrypoint", "sleep", IMAGE, "infinity")
        key, addrs, opts = ssh_nodes(work, [node])
        run("docker", "exec", node, "sh", "-c", SUDOER)
        login = {"ansible_host": addrs[node], "ansible_user": "deploy", "ansible_ssh_private_key_file": str(key),
                 "ansible_ssh_common_args": " ".join(opts), "ansible_become": True}  # fmt: skip
        transport = {"ansible": ["-c", "ssh", "-e", json.dumps(login)]}
        ping, _ = ansible(env, transport, "ansible.builtin.ping", {}, node=node)
        with tarball.open("rb") as warm:
            while warm.read(1 << 24):
                pass
        names = list(variants)
        for r in range(rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                module, extra = variants[name]
                args = dict(extra, src=str(tarball), dest=DEST, mode="0640", owner="root", group="root")
                fresh(("docker", "exec", node, "rm", "-f", DEST))
                took, res = ansible(env, transport, module, args, node=node)
                out = json.loads(res.stdout)["plays"][0]["tasks"][0]["hosts"][node]
                assert out.get("changed") and not out.get("failed"), out
                first[name].append(took - ping)
                took, res = ansible(env, transport, module, args, node=node)
                out = json.loads(res.stdout)["plays"][0]["tasks"][0]["hosts"][node]
                assert not out.get("changed") and not out.get("failed"), out
                again[name].append(took - ping)
    finally:
        run("docker", "rm", "-f", node, check=False)
        shutil.rmtree(work, ignore_errors=True)
    print(f"{tarball.stat().st_size / 2**20:.0f} MiB `docker save` tarball, SSH as deploy with sudo, pipelining; "
          f"{rounds} rounds; seconds of an ad-hoc run minus an `ansible -m ping` run ({ping:.2f} s)\n")  # fmt: skip
    print("| variant | node without the file: rounds s | median s | node with the file: rounds s | median s |")
    print("|---|---|---:|---|---:|")
    for name in variants:
        print(
            f"| {name} | {' / '.join(f'{s:.2f}' for s in first[name])} | {sorted(first[name])[rounds // 2]:.2f} "
            f"| {' / '.join(f'{s:.2f}' for s in again[name])} | {sorted(again[name])[rounds // 2]:.2f} |"
        )


def main():
    if sys.argv[1:2] == ["become"]:
        rest = [int(a) for a in sys.argv[2:4]]
        become_ab(*(rest + [2816, 3][len(rest) :]))
        return
    big_mib = int(sys.argv[1]) if len(sys.argv) > 1 else 2048
    work = collection_root(Path(tempfile.mkdtemp(prefix="bench-verified-copy-", dir="/var/tmp")))
    env = ansible_env(work)
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
        reset = ("docker", "exec", NODE, "rm", "-f", DEST)
        for name, transport in transports(work).items():
            ping, _ = ansible(env, transport, "ansible.builtin.ping", {})
            for path, digest in files:
                size = path.stat().st_size
                with path.open("rb") as warm:  # the controller's page cache, as for every later measure
                    while warm.read(1 << 24):
                        pass
                plain, _ = best(reset, timed, *transport["plain"](path))
                own, _ = best(reset, timed, *transport["own"](path))
                fresh(reset)
                copy, _ = ansible(
                    env, transport, "ansible.builtin.copy", {"src": str(path), "dest": DEST, "mode": "0640"}
                )
                stat, _ = ansible(
                    env, transport, "ansible.builtin.stat", {"path": DEST, "checksum_algorithm": "sha256"}
                )
                args = {"src": str(path), "dest": DEST, "sha256": digest, "mode": "0640"}
                first, res = best(reset, ansible, env, transport, "gpufleet.triton.verified_copy", args)
                sent = json.loads(res.stdout)["plays"][0]["tasks"][0]["hosts"][NODE]["transferred"]
                again, res = ansible(env, transport, "gpufleet.triton.verified_copy", args)
                resent = json.loads(res.stdout)["plays"][0]["tasks"][0]["hosts"][NODE]["transferred"]
                rows.append((name, transport["names"], ping, path.name, size, plain, own, copy + stat - 2 * ping,
                             first - ping, sent, again, resent))  # fmt: skip
    finally:
        run("docker", "rm", "-f", NODE, check=False)
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average (1 min) at start: {load:.1f}; an `ansible -m ping` run is subtracted from each Ansible run\n")
    print("| transport | file | MiB | plain copy s | connection's transfer alone s | copy + stat sha256 s "
          "| verified_copy first s | bytes sent | first / plain "
          "| first / connection's transfer | re-run s (whole run, ping included) | bytes sent |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, (plain_name, own_name), ping, file, size, plain, own, old, first, sent, again, resent in rows:
        print(
            f"| {name} (ping {ping:.2f} s) | {file} | {size / 2**20:.0f} | {plain:.2f} ({plain_name}) "
            f"| {own:.2f} ({own_name}) | {old:.2f} | {first:.2f} | {sent:,} | {first / plain:.2f}x "
            f"| {first / own:.2f}x | {again:.2f} | {resent:,} |"
        )


if __name__ == "__main__":
    main()
