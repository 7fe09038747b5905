"""What the benchmarks share: where the checkout and the lab are, and the checkout as gpufleet.triton."""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv" / "bin"
LAB = Path(os.environ.get("GPUFLEET_LAB_CACHE", "/var/cache/gpufleet-lab"))
TARBALL = LAB / "images" / "tritonserver-24.10-py3-lab-cpu.tar"
IMAGE = "nvcr.io/nvidia/tritonserver:24.10-py3-lab-cpu"
# The lab image plus one small layer (upgrade_image): an upgrade that shares every other layer.
UPGRADE_TAG = "24.10-py3-lab-cpu-upgrade"
# The interfaces of a lab container's own Docker engine (nested), loopback, and a host's bridges: their traffic
# does not cross the container's link to the lab network.
NOT_A_LINK = ("lo", "docker0", "veth", "br-")


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


def fleet_inventory(folder: Path, name: str, network: str = "gpufleet-lab") -> str:
    """inventories/lab in folder, finding the fleet that lab/fleet.yml made with lab_fleet_name=name instead of the
    lab's (its group_vars linked, so the nodes get the lab's settings); network: the Docker network whose addresses
    Ansible reaches the nodes at (one they were connected to besides the lab's)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = (ROOT / "inventories" / "lab" / "fleet.docker.yml").read_text()
    assert "== 'lab-node'" in config, "inventories/lab/fleet.docker.yml no longer filters on the fleet's name"
    assert "Networks['gpufleet-lab']" in config, "inventories/lab/fleet.docker.yml no longer addresses the lab network"
    config = config.replace("== 'lab-node'", f"== '{name}'")
    config = config.replace("Networks['gpufleet-lab']", f"Networks['{network}']")
    (folder / "fleet.docker.yml").write_text(config)
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


def env_for(collections: Path) -> dict:
    return dict(
        os.environ,
        PATH=f"{VENV}:{os.environ['PATH']}",
        ANSIBLE_ROLES_PATH=str(ROOT / "roles"),
        ANSIBLE_COLLECTIONS_PATH=str(collections),
        ANSIBLE_NOCOLOR="true",
        ANSIBLE_FORCE_COLOR="false",
    )


def sh(*cmd, env=None, check=True, **kw):
    res = subprocess.run(cmd, cwd=ROOT, env=env, check=False, capture_output=True, text=True, **kw)
    if check and res.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{res.stdout[-4000:]}\n{res.stderr[-2000:]}")
    return res


def upgrade_image(env: dict) -> None:
    """Another Triton image, tagged UPGRADE_TAG: the lab image plus a small layer, saved where the lab keeps its
    tarball (with its .sha256) and pushed to the lab registry. Kept between runs (it depends on the lab image only)."""
    image = f"{IMAGE.rsplit(':', 1)[0]}:{UPGRADE_TAG}"
    tarball = LAB / "images" / f"tritonserver-{UPGRADE_TAG}.tar"
    base = sh("docker", "image", "inspect", "-f", "{{.Id}}", IMAGE).stdout.strip()
    stamp = tarball.with_suffix(".base")
    if tarball.exists() and stamp.exists() and stamp.read_text() == base:
        return
    sh("docker", "rm", "-f", "bench-fleet-upgrade", check=False)
    sh("docker", "create", "--name", "bench-fleet-upgrade", IMAGE)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            patch = Path(tmp) / "patch.bin"
            patch.write_bytes(os.urandom(8 << 20))
            sh("docker", "cp", str(patch), "bench-fleet-upgrade:/opt/gpufleet-bench-upgrade.bin")
        sh("docker", "commit", "bench-fleet-upgrade", image)
    finally:
        sh("docker", "rm", "-f", "bench-fleet-upgrade", check=False)
    sh("docker", "save", "-o", str(tarball), image)
    digest = sh("sha256sum", str(tarball)).stdout.split()[0]
    tarball.with_name(tarball.name + ".sha256").write_text(f"{digest}  {tarball.name}\n")
    registry = dict(
        line.split("=", 1) for line in (LAB / "registry" / "registry.env").read_text().splitlines() if "=" in line
    )
    local = f"{registry['LAB_REGISTRY_LOCAL']}/nvidia/tritonserver:{UPGRADE_TAG}"
    with tempfile.TemporaryDirectory() as cfg:
        key = (LAB / "registry" / "api-key").read_text().strip()
        sh("docker", "--config", cfg, "login", "-u", "$oauthtoken", "--password-stdin",
           registry["LAB_REGISTRY_LOCAL"], input=key)  # fmt: skip
        sh("docker", "tag", image, local)
        sh("docker", "--config", cfg, "push", "-q", local)
        sh("docker", "rmi", local)
    stamp.write_text(base)


def net_dev(text: str) -> dict:
    """/proc/<pid>/net/dev: {interface: (rx bytes, tx bytes)}."""
    counters = {}
    for line in text.splitlines()[2:]:
        name, _, fields = line.partition(":")
        values = fields.split()
        if len(values) >= 9:
            counters[name.strip()] = (int(values[0]), int(values[8]))
    return counters


def link_bytes(counters: dict) -> tuple:
    """(rx, tx) summed over a container's links to other hosts: not loopback, nor the interfaces of a Docker engine
    running inside it (docker0, veth*: its own containers' traffic, which also crosses the link if it leaves)."""
    links = [v for name, v in counters.items() if not name.startswith(NOT_A_LINK)]
    return sum(v[0] for v in links), sum(v[1] for v in links)


def container_bytes(name: str) -> tuple:
    """(rx, tx) bytes of a running container's links, read on the host from its network namespace (no docker exec:
    nothing runs in the container, nothing crosses the network)."""
    pid = subprocess.run(["docker", "inspect", "-f", "{{.State.Pid}}", name], check=True, capture_output=True,
                         text=True).stdout.strip()  # fmt: skip
    return link_bytes(net_dev(Path(f"/proc/{pid}/net/dev").read_text()))


def bridge_bytes(network: str) -> tuple:
    """(rx, tx) bytes of a Docker network's bridge on the host. tx counts what the host itself sends (or routes) into
    the network, never what its containers send one another (bridged, not seen by the bridge device's counters)."""
    net_id = subprocess.run(["docker", "network", "inspect", "-f", "{{.Id}}", network], check=True,
                            capture_output=True, text=True).stdout.strip()  # fmt: skip
    stats = Path("/sys/class/net") / f"br-{net_id[:12]}" / "statistics"
    return int((stats / "rx_bytes").read_text()), int((stats / "tx_bytes").read_text())


def traffic(before: dict, after: dict) -> dict:
    """{name: {"rx": bytes, "tx": bytes}} moved between two snapshots ({name: (rx, tx)}) of the same counters."""
    return {name: {"rx": after[name][0] - before[name][0], "tx": after[name][1] - before[name][1]} for name in after}
