"""What the benchmarks share: where the checkout and the lab are, and the checkout as gpufleet.triton."""

import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv" / "bin"
LAB = Path(os.environ.get("GPUFLEET_LAB_CACHE", "/var/cache/gpufleet-lab"))
TARBALL = LAB / "images" / "tritonserver-24.10-py3-lab-cpu.tar"
IMAGE = "nvcr.io/nvidia/tritonserver:24.10-py3-lab-cpu"


def collection_root(folder: Path, checkout: Path = ROOT) -> Path:
    """folder/ansible_collections/gpufleet/triton -> this checkout (or another), so that a copy installed in
    ~/.ansible/collections is never the one measured; pass folder as ANSIBLE_COLLECTIONS_PATH."""
    (folder / "ansible_collections" / "gpufleet").mkdir(parents=True)
    (folder / "ansible_collections" / "gpufleet" / "triton").symlink_to(checkout)
    return folder


def checkout(rev: str, work: Path) -> tuple:
    """(folder, label) of a revision: the working tree itself for '.', else a temporary git worktree in work."""
    if rev == ".":
        return ROOT, "working tree"
    folder = work / f"rev-{rev.replace('/', '-')}"
    subprocess.run(["git", "worktree", "add", "--detach", str(folder), rev], cwd=ROOT, check=True, capture_output=True)
    return folder, subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


def fleet(env: dict, state: str, nodes: list) -> None:
    """Create (present) or remove (absent) lab instances with lab/fleet.yml."""
    res = subprocess.run(
        ["ansible-playbook", "lab/fleet.yml", "-e", f"lab_fleet_state={state}",
         "-e", json.dumps({"lab_fleet_nodes": list(nodes)})],
        cwd=ROOT, env=env, check=False, capture_output=True, text=True,
    )  # fmt: skip
    if res.returncode != 0:
        sys.exit(f"lab/fleet.yml {state} {nodes} failed:\n{res.stdout[-4000:]}\n{res.stderr[-2000:]}")


def fleet_inventory(folder: Path, name: str) -> str:
    """inventories/lab in folder, finding the fleet that lab/fleet.yml made with lab_fleet_name=name instead of the
    lab's (its group_vars linked, so the nodes get the lab's settings)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = (ROOT / "inventories" / "lab" / "fleet.docker.yml").read_text()
    assert "== 'lab-node'" in config, "inventories/lab/fleet.docker.yml no longer filters on the fleet's name"
    (folder / "fleet.docker.yml").write_text(config.replace("== 'lab-node'", f"== '{name}'"))
    if not (folder / "group_vars").exists():
        (folder / "group_vars").symlink_to(ROOT / "inventories" / "lab" / "group_vars")
    return str(folder)


def ssh_nodes(work: Path, nodes: list) -> tuple:
    """sshd in each lab container (root, a key made in work): (key path, {node: address}, ssh -o options)."""
    key = work / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    setup = (
        "set -e; [ -x /usr/sbin/sshd ] || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
        "--no-install-recommends openssh-server >/dev/null; }; ssh-keygen -A >/dev/null; "
        "printf 'PermitRootLogin prohibit-password\\n' > /etc/ssh/sshd_config.d/00-bench-root.conf; "
        "mkdir -p /run/sshd /root/.ssh; chmod 700 /root/.ssh; cat > /root/.ssh/authorized_keys; "
        "systemctl restart ssh 2>/dev/null || /usr/sbin/sshd"
    )  # a systemd instance runs ssh.service; a bare container runs sshd itself. The lab image refuses root logins
    # (fleet nodes are reached as deploy); these single-purpose instances let the controller's key in as root too.
    pub = (work / "id_ed25519.pub").read_bytes()
    with ThreadPoolExecutor(len(nodes)) as pool:
        list(pool.map(lambda n: subprocess.run(["docker", "exec", "-i", n, "sh", "-c", setup], input=pub, check=True,
                                               capture_output=True), nodes))  # fmt: skip
    fmt = "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}"
    addrs = {n: subprocess.run(["docker", "inspect", "-f", fmt, n], check=True, capture_output=True, text=True)
             .stdout.split()[0] for n in nodes}  # fmt: skip
    opts = [f"-o{o}" for o in ("StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "LogLevel=ERROR")]
    return key, addrs, opts


def grown(work: Path, mib: int) -> tuple:
    """The lab image plus a layer of `mib` MiB of random bytes, saved to work: (tarball, image name, sha256).
    The lab's 346 MiB image is small next to Triton's 10-15 GB ones; at that size a task's fixed cost dominates."""

    def run(*cmd, check=True):
        res = subprocess.run(cmd, check=False, capture_output=True, text=True)
        if check and res.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n{res.stdout[-4000:]}\n{res.stderr[-2000:]}")
        return res

    image = f"{IMAGE}-grown-{mib}"
    filler = work / "filler.bin"
    with filler.open("wb") as out:
        for _ in range(mib):
            out.write(os.urandom(1 << 20))
    run("docker", "rm", "-f", "bench-grow", check=False)
    run("docker", "create", "--name", "bench-grow", IMAGE)
    try:
        run("docker", "cp", str(filler), "bench-grow:/opt/bench-filler.bin")
        run("docker", "commit", "bench-grow", image)
    finally:
        run("docker", "rm", "-f", "bench-grow", check=False)
        filler.unlink()
    tarball = work / f"tritonserver-grown-{mib}.tar"
    run("docker", "save", "-o", str(tarball), image)
    run("docker", "image", "rm", image)
    return tarball, image, run("sha256sum", str(tarball)).stdout.split()[0]


def bench_inventory(folder: Path) -> str:
    """An inventory of bench-node-1..3 with inventories/lab's group_vars: bench-node-1 takes the tarball path, -2 and -3
    pull from the lab registry, as in inventories/lab."""
    folder.mkdir()
    sources = {"bench-node-1": "tarball", "bench-node-2": "registry", "bench-node-3": "registry"}
    hosts = "".join(f"    {name}:\n      image_cache_source: {src}\n" for name, src in sources.items())
    (folder / "hosts.yml").write_text(
        f"---\ntriton_nodes:\n  vars:\n    ansible_connection: community.docker.docker\n  hosts:\n{hosts}"
    )
    (folder / "group_vars").symlink_to(ROOT / "inventories" / "lab" / "group_vars")
    return str(folder)


def measured(cmd: list, cwd: Path, env: dict) -> tuple:
    """Run cmd: (result, wall seconds, controller CPU seconds). The CPU is that of cmd and everything it started and
    waited for (for ansible-playbook: its workers and the connection's clients), which grows with the fleet."""
    start, before = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    res = subprocess.run(cmd, cwd=cwd, env=env, check=False, capture_output=True, text=True)
    wall, after = time.monotonic() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    return res, wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
