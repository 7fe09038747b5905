#!/usr/bin/env python3
"""Bytes each image source moves at fleet scale, side by side: one Markdown table.

For each fleet size N (--sizes, default 4,8), a fleet of N nodes (egress-fleet-1..N, made by lab/fleet.yml as the lab's
fleet is, reached over SSH as `deploy` with sudo, inventories/lab's group_vars) gets the lab's Triton image from each
source (--sources) in turn, the nodes made bare of it before each (containers, images, the role's tarball folders and
the converge stamp removed):

- tarball:       image_cache_source tarball, the tarball copied from the controller (verified_copy);
- seed:          image_cache_source seed, egress-fleet-1 the seed host: it pulls from the lab registry, saves the
                 image, the controller fetches the tarball and copies it to every other node;
- shared:        a tarball on a shared path (image_cache_tarball_remote_src): the lab's image folder served by
                 egress-share over SFTP and mounted read-only with sshfs on every node (kernel_cache, so that a node
                 reads a file it read before from its page cache, as an NFS client does);
- url:           the tarball from an http server (egress-http, python3 -m http.server on egress-net);
- site_registry: image_cache_source site_registry: the tarball copied once to egress-registry (roles/site_registry),
                 loaded and pushed there, every node pulling from it.

and, for tarball and site_registry, the upgrade to the lab's upgrade image (UPGRADE_TAG: every layer of the lab image
plus one of 8 MiB) on the fleet that holds the lab image. Each run is site.yml with `--tags ngc_login,image_cache`
(-e site_skip_converged=false, all nodes in one batch: the image moves before any node is drained, so the rollout's
batches would time the batching, not the source): the seed play and the rolling play's image steps, with the logins the
pulls need. Before the first measurement of each N, not measured: site.yml --tags docker_engine (and site_registry,
with the site registry: its registry play installs the registry host's engine and registry and makes the site CA), so
that each node's engine trusts the lab registry and the site registry; the engine's packages come from the Debian
mirror through the host, and the bridge counter would count them as the controller's.

How the bytes are counted (checked on this host with 50 MB each way on a network of two containers): the fleet and the
serving containers are connected to a Docker network of their own (egress-net) and Ansible reaches them there, so that
its bridge carries this benchmark's traffic only (other jobs use gpufleet-lab, where the nodes stay connected for the
lab registry). On the host, the bridge device's tx_bytes count what the host sends (or routes) into the network, and
never what containers send one another, which is bridged between their veths (it moves the host-side veth counters of
both, not the bridge's): the controller's egress is that bridge's tx_bytes. A container's bytes are those of its
network namespace (/proc/<pid>/net/dev, read from the host), summed over its links (not lo, nor docker0 and veth* of
the Docker engine inside a node). Each is a difference of counters read just before the run and just after it. All are
bytes on the wire: Ethernet, IP and TCP headers included, and the SSH traffic of Ansible itself (module payloads and
results), which the image's bytes dwarf.

Goal (issue 25): the site registry's controller egress <= 1.1 x the tarball at every N, and its upgrade moves only the
new layer (the registry host serves at most 1.1 x N x that layer: HTTP, TLS and manifests on top). Wall time is
reported, not a goal: on 2 cores the nodes, the servers and the controller share the CPU (and other jobs run beside
them).

Run from the checkout after `make lab`. --json FILE writes the figures too. It removes its fleet, servers and network
at the end (--keep leaves them). Usage: egress.py [--sizes 4,8] [--sources tarball,seed,shared,url,site_registry]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _lab import (
    LAB,
    ROOT,
    TARBALL,
    UPGRADE_TAG,
    VENV,
    bridge_bytes,
    collection_root,
    container_bytes,
    env_for,
    fleet_inventory,
    sh,
    traffic,
    upgrade_image,
)
from _lab import fleet as lab_instances

SOURCES = ("tarball", "seed", "shared", "url", "site_registry")
UPGRADED = ("tarball", "site_registry")
NETWORK = "egress-net"
FLEET = "egress-fleet"
HTTP, SHARE, REGISTRY = "egress-http", "egress-share", "egress-registry"
REGISTRY_NAME = "registry.egress-fleet.test"
SHARE_MOUNT = "/mnt/gpufleet-share"
BASE_TAG = TARBALL.name.removeprefix("tritonserver-").removesuffix(".tar")
LAB_IMAGE = "localhost/gpufleet-lab/debian12:latest"
MIB = 1 << 20


def tarball(tag: str) -> Path:
    return LAB / "images" / f"tritonserver-{tag}.tar"


def sha256_of(tag: str) -> str:
    return Path(f"{tarball(tag)}.sha256").read_text().split()[0]


def new_layer_bytes(base: Path, upgrade: Path) -> int:
    """Bytes of the layers (as saved, uncompressed) that the upgrade tarball has and the base tarball lacks, by their
    content (the diff IDs in each image's config; `docker save` names a layer's folder after more than its content)."""

    def layers(path: Path) -> dict:
        with tarfile.open(path) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))[0]
            diff_ids = json.load(tar.extractfile(manifest["Config"]))["rootfs"]["diff_ids"]
            return {diff: tar.getmember(layer).size for diff, layer in zip(diff_ids, manifest["Layers"])}

    old = layers(base)
    return sum(size for diff, size in layers(upgrade).items() if diff not in old)


def address(name: str, network: str = NETWORK) -> str:
    fmt = f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}'
    return sh("docker", "inspect", "-f", fmt, name).stdout.strip()


def connect(name: str, *alias: str) -> None:
    """Connect a container to the benchmark's network (once)."""
    networks = sh("docker", "inspect", "-f", "{{json .NetworkSettings.Networks}}", name).stdout
    if NETWORK not in json.loads(networks):
        sh("docker", "network", "connect", *(a for n in alias for a in ("--alias", n)), NETWORK, name)


def in_parallel(fn, items) -> list:
    with ThreadPoolExecutor(max(len(items), 1)) as pool:
        return list(pool.map(fn, items))


def servers(work: Path) -> dict:
    """egress-http (python3 -m http.server) and egress-share (sshd, root by a key made in work), each serving the
    lab's image folder read-only on the benchmark's network: {name: address}."""
    key = work / "share_key"
    if not key.exists():
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key))
    images = f"{LAB / 'images'}:/srv/images:ro"
    for name, cmd in (
        (HTTP, ["python3", "-m", "http.server", "8000", "--directory", "/srv/images"]),
        (SHARE, ["sleep", "infinity"]),
    ):
        sh("docker", "rm", "-f", name, check=False)
        sh("docker", "run", "-d", "--name", name, "--network", NETWORK, "-v", images, "--entrypoint", cmd[0],
           LAB_IMAGE, *cmd[1:])  # fmt: skip
    setup = (
        "set -e; ssh-keygen -A >/dev/null; mkdir -p /run/sshd /root/.ssh; chmod 700 /root/.ssh; "
        "printf 'PermitRootLogin prohibit-password\\n' > /etc/ssh/sshd_config.d/00-egress.conf; "
        "cat > /root/.ssh/authorized_keys; /usr/sbin/sshd"
    )
    sh("docker", "exec", "-i", SHARE, "sh", "-c", setup, input=(work / "share_key.pub").read_text())
    return {HTTP: address(HTTP), SHARE: address(SHARE)}


def make_fleet(env: dict, work: Path, n: int) -> list:
    """N lab nodes (the first of a larger size are kept: each run starts by making them bare), with /dev/fuse and sshfs
    (and the key to egress-share) for the shared path, connected to the benchmark's network: their names."""
    sh(str(VENV / "ansible-playbook"), "-i", fleet_inventory(work / "inventory-lab", FLEET), "lab/fleet.yml",
       "-e", f"lab_fleet_name={FLEET}", "-e", f"lab_fleet_size={n}",
       "-e", json.dumps({"lab_fleet_devices": ["/dev/fuse"]}), env=env)  # fmt: skip
    nodes = [f"{FLEET}-{i}" for i in range(1, n + 1)]
    in_parallel(connect, nodes)
    prepare = (
        "set -e; command -v sshfs >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install "
        "-y -qq --no-install-recommends sshfs >/dev/null; }; mkdir -p /root/.ssh " + SHARE_MOUNT + "; "
        "cat > /root/.ssh/egress-share; chmod 600 /root/.ssh/egress-share"
    )
    key = (work / "share_key").read_text()
    in_parallel(lambda node: sh("docker", "exec", "-i", node, "sh", "-c", prepare, input=key), nodes)
    return nodes


def inventory(work: Path, registry: str = "") -> str:
    """inventories/lab finding the benchmark's fleet at its egress-net addresses, and the site registry host
    (when there is one) in the group site_registry, reached as the nodes are."""
    folder = Path(fleet_inventory(work / "inventory", FLEET, NETWORK))
    hosts = folder / "registry.yml"
    if registry:
        hosts.write_text(
            "---\nsite_registry:\n  hosts:\n"
            f"    {REGISTRY}:\n      ansible_host: {registry}\n"
            "  vars:\n"
            f"    ansible_user: deploy\n    ansible_ssh_private_key_file: {LAB / 'ssh' / 'id_ed25519'}\n"
            "    ansible_become: true\n    ansible_pipelining: true\n"
            "    ansible_ssh_args: -o ControlMaster=auto -o ControlPersist=60s\n"
            "    ansible_ssh_common_args: >-\n"
            "      -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR\n"
        )
    return str(folder)


def site_registry_vars(work: Path, tag: str) -> dict:
    """The settings of image_cache_source site_registry, the same for the nodes and the registry host (as
    inventories/example-airgapped has them in group_vars/all); the passwords are the benchmark's, not secrets."""
    return {
        "image_cache_source": "site_registry",
        "image_cache_site_registry_host": REGISTRY,
        "image_cache_image": f"{REGISTRY_NAME}:5000/nvidia/tritonserver:{tag}",
        "image_cache_tarball_image": f"nvcr.io/nvidia/tritonserver:{tag}",
        "image_cache_tarball": str(tarball(tag)),
        "image_cache_tarball_sha256": sha256_of(tag),
        "site_registry_name": REGISTRY_NAME,
        "site_registry_pull_password": "egress-pull-0123456789",
        "site_registry_push_password": "egress-push-0123456789",
        "site_registry_tls_ca": str(work / "site-registry" / "ca.crt"),
        "site_registry_tls_ca_key": str(work / "site-registry" / "ca.key"),
        "ngc_login_registry": f"{REGISTRY_NAME}:5000",
        "ngc_login_username": "triton-pull",
        "ngc_login_api_key": "egress-pull-0123456789",
    }


def registry_cas(work: Path, registry: bool) -> list:
    cas = [{"registry": "registry.gpufleet-lab.test:5000", "ca_src": str(LAB / "registry" / "ca.crt")}]
    if registry:
        cas.append({"registry": f"{REGISTRY_NAME}:5000", "ca_src": str(work / "site-registry" / "ca.crt")})
    return cas


def playbook(env: dict, inv: str, play: str, extra: dict, log: Path, tags: str = "", settings=None) -> tuple:
    """(return code, wall seconds) of ansible-playbook, its output in log; SSH connections opened anew. settings
    ({host: {variable: value}}): inventory host variables for this run, in inv/source.yml. The source's settings go
    there, not in extra vars: the role's site_registry path runs parts of itself as source tarball (include vars),
    which extra vars would override."""
    Path(inv, "source.yml").write_text(json.dumps({"all": {"hosts": settings or {}}}))
    control = tempfile.mkdtemp(prefix="bench-egress-cp-")
    cmd = [
        str(VENV / "ansible-playbook"),
        "-i",
        inv,
        play,
        "-e",
        json.dumps(extra),
        *(["--tags", tags] if tags else []),
    ]
    start = time.monotonic()
    with log.open("w") as out:
        rc = subprocess.run(cmd, cwd=ROOT, env=dict(env, ANSIBLE_SSH_CONTROL_PATH_DIR=control), stdout=out,
                            stderr=subprocess.STDOUT, check=False).returncode  # fmt: skip
    wall = time.monotonic() - start
    shutil.rmtree(control, ignore_errors=True)
    return rc, wall


def prepared(env: dict, inv: str, work: Path, nodes: list, log: Path, registry: bool) -> None:
    """Not measured: the engine on every node, trusting the lab registry and the site registry; with a site registry,
    the registry host's engine and registry too (site.yml's registry play, which also makes the site CA)."""
    extra = {"site_skip_converged": False, "triton_rollout_serial": "100%",
             "docker_engine_registry_cas": registry_cas(work, registry)}  # fmt: skip
    settings = {host: site_registry_vars(work, BASE_TAG) for host in [*nodes, REGISTRY]} if registry else {}
    tags = "docker_engine,site_registry" if registry else "docker_engine"
    rc, _ = playbook(env, inv, "site.yml", extra, log, tags=tags, settings=settings)
    if rc != 0:
        sys.exit(f"site.yml (the engine, the site registry) failed; its output: {log}\n{log.read_text()[-4000:]}")


def registry_host(env: dict) -> str:
    """egress-registry, a lab instance on the benchmark's network as REGISTRY_NAME (site.yml's registry play makes it
    the site registry host): its address."""
    lab_instances(env, "present", [REGISTRY])
    connect(REGISTRY, REGISTRY_NAME)
    return address(REGISTRY)


# The registry's storage (roles/site_registry's default path) and the host's engine and tarballs emptied, the
# registry restarted (a registry may keep what it knows of its blobs in memory).
BARE_REGISTRY = (
    "set -e; systemctl stop gpufleet-registry gpufleet-registry-push; "
    "find /var/lib/gpufleet-registry -mindepth 1 -delete; systemctl start gpufleet-registry gpufleet-registry-push; "
    "docker images -aq | xargs -r docker rmi -f >/dev/null 2>&1; docker image prune -af >/dev/null; "
    "rm -rf /var/cache/gpufleet"
)


BARE = (
    "docker ps -aq | xargs -r docker rm -f >/dev/null; docker images -aq | xargs -r docker rmi -f >/dev/null 2>&1; "
    "docker image prune -af >/dev/null; "
    "rm -rf /var/cache/gpufleet /var/cache/gpufleet-seed /var/lib/gpufleet/converged.json"
)


def bare(nodes: list) -> None:
    """Make the nodes bare of the image: no container, no image, none of the role's tarballs, no converge stamp."""
    in_parallel(lambda node: sh("docker", "exec", node, "sh", "-c", BARE), nodes)


def holds(node: str, image: str) -> bool:
    return sh("docker", "exec", node, "docker", "image", "inspect", image, check=False).returncode == 0


def source_vars(source: str, tag: str, work: Path, nodes: list, addrs: dict, n: int) -> tuple:
    """(inventory settings, the image's name on the nodes, the serving host) of a source."""
    nvcr = f"nvcr.io/nvidia/tritonserver:{tag}"
    if source == "tarball":
        return {"image_cache_source": "tarball"}, nvcr, "controller"
    if source == "seed":
        fetch = work / f"seed-{n}"
        shutil.rmtree(fetch, ignore_errors=True)
        return ({"image_cache_source": "seed", "image_cache_seed_host": nodes[0],
                 "image_cache_seed_fetch_dir": str(fetch)},
                f"registry.gpufleet-lab.test:5000/nvidia/tritonserver:{tag}", nodes[0])  # fmt: skip
    if source == "shared":
        return ({"image_cache_source": "tarball", "image_cache_tarball": f"{SHARE_MOUNT}/{tarball(tag).name}",
                 "image_cache_tarball_remote_src": True}, nvcr, SHARE)  # fmt: skip
    if source == "url":
        return ({"image_cache_source": "tarball",
                 "image_cache_tarball": f"http://{addrs[HTTP]}:8000/{tarball(tag).name}"}, nvcr, HTTP)  # fmt: skip
    extra = site_registry_vars(work, tag)
    return extra, extra["image_cache_image"], REGISTRY


def mount_share(nodes: list, share: str, mount: bool) -> None:
    cmd = (
        f"mountpoint -q {SHARE_MOUNT} || sshfs -o ro,kernel_cache,IdentityFile=/root/.ssh/egress-share,"
        f"StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null root@{share}:/srv/images {SHARE_MOUNT}"
        if mount
        else f"! mountpoint -q {SHARE_MOUNT} || fusermount3 -u {SHARE_MOUNT} || fusermount -u {SHARE_MOUNT}"
    )
    in_parallel(lambda node: sh("docker", "exec", node, "sh", "-c", cmd), nodes)


def measure(env, inv, work, logs, nodes, addrs, n, source, upgrade) -> dict:
    """One source's run on the fleet: the bytes each counter moved, the wall time, whether every node holds the
    image."""
    tag = UPGRADE_TAG if upgrade else BASE_TAG
    settings, image, server = source_vars(source, tag, work, nodes, addrs, n)
    hosts = [*nodes, REGISTRY] if source == "site_registry" else nodes
    extra = {"site_skip_converged": False, "triton_rollout_serial": "100%", "lab_triton_tag": tag}
    if not upgrade:
        bare(nodes)
        if source == "site_registry":
            sh("docker", "exec", REGISTRY, "sh", "-c", BARE_REGISTRY)
    if source == "shared":
        mount_share(nodes, addrs[SHARE], True)
    counted = nodes + [name for name in (HTTP, SHARE, REGISTRY) if name in addrs]

    def snapshot():
        snap = dict(zip(counted, in_parallel(container_bytes, counted)))
        snap["controller"] = bridge_bytes(NETWORK)
        return snap

    run = f"{source}{'-upgrade' if upgrade else ''}"
    log = logs / f"{run}.log"
    before = snapshot()
    rc, wall = playbook(env, inv, "site.yml", extra, log, "ngc_login,image_cache", {h: settings for h in hosts})
    moved = traffic(before, snapshot())
    if source == "shared":
        mount_share(nodes, addrs[SHARE], False)
    held = in_parallel(lambda node: holds(node, image), nodes)
    row = {
        "n": n,
        "source": source,
        "run": "upgrade" if upgrade else "first",
        "tag": tag,
        "rc": rc,
        "holds": sum(held),
        "wall": wall,
        "server": server,
        "controller_tx": moved["controller"]["tx"],
        "controller_rx": moved["controller"]["rx"],
        "served": moved[server]["tx"],
        "node_rx": [moved[node]["rx"] for node in nodes],
        "bytes": moved,
        "log": str(log),
    }
    print(f"  N={n} {run}: rc {rc}, {sum(held)}/{n} hold {image}, {wall:.1f} s, controller egress "
          f"{row['controller_tx'] / MIB:.0f} MiB, {server} served {row['served'] / MIB:.0f} MiB, node rx mean "
          f"{sum(row['node_rx']) / n / MIB:.0f} MiB", file=sys.stderr, flush=True)  # fmt: skip
    return row


SERVERS = {
    "tarball": "controller",
    "seed": "seed host (egress-fleet-1)",
    "shared": "SFTP server (sshfs)",
    "url": "http server",
    "site_registry": "site registry host",
}


def table(rows: list, sizes: dict) -> str:
    tb, up = sizes["tarball"], sizes["upgrade_tarball"]
    lines = [
        "| N | source | run | controller egress MiB (x tarball) | serving host | served MiB (x tarball) "
        "| node rx MiB, mean (x tarball) | every node holds it | wall s |",
        "|---:|---|---|---:|---|---:|---:|---|---:|",
    ]
    for r in rows:
        size = up if r["run"] == "upgrade" else tb
        mean = sum(r["node_rx"]) / len(r["node_rx"])
        ok = "yes" if r["rc"] == 0 and r["holds"] == r["n"] else f"no (rc {r['rc']}, {r['holds']}/{r['n']})"
        lines.append(
            f"| {r['n']} | {r['source']} | {r['run']} | {r['controller_tx'] / MIB:.0f} "
            f"({r['controller_tx'] / size:.2f}) | {SERVERS[r['source']]} | {r['served'] / MIB:.0f} "
            f"({r['served'] / size:.2f}) | {mean / MIB:.1f} ({mean / size:.3f}) | {ok} | {r['wall']:.0f} |"
        )
    return "\n".join(lines)


NOTES = """Counted from interface byte counters (bytes on the wire, headers and Ansible's own SSH traffic included),
each the difference of readings taken just before and just after the run: controller egress = tx_bytes of the host's
bridge of egress-net, the benchmark's own Docker network (host-to-container traffic only: traffic between containers
is bridged between their veths and never counted there); served = tx bytes of the serving host's network namespace
(its links; for the tarball source the controller's egress); node rx = rx bytes of each node's links (not lo, nor its
own engine's docker0/veth*), the mean of the N nodes (the seed host's included: its pull from the lab registry).
x tarball: the ratio to the tarball of the run's image ({tb} MiB; the upgrade's {up} MiB, {layer:.1f} MiB of it the
new layer). The shared path is served over SFTP (sshfs, kernel_cache), not NFS: this lab's kernel has no NFS client or
server; an NFS server would serve about the same (N x the tarball: each node reads the whole file for the sha256
check and again to load it, the second from its page cache)."""


def goals(rows: list, figures: dict) -> list:
    """The goal lines of the site registry's runs. First run: controller egress <= 1.1 x the tarball, and how it
    splits: what reached the registry host (its rx: the tarball once, and the nodes' requests and acknowledgements,
    a few KiB a node) and the rest, to the nodes (Ansible's own traffic, which grows with N: the largest N at which
    the goal would still hold at this tarball's size). Upgrade: what the registry host served per node <= 1.1 x the
    new layer."""
    lines = []
    for r in rows:
        if r["source"] != "site_registry":
            continue
        n = r["n"]
        if r["run"] == "first":
            ratio = r["controller_tx"] / figures["tarball"]
            to_registry = r["bytes"][REGISTRY]["rx"]
            per_node = (r["controller_tx"] - to_registry) / n
            limit = int((1.1 * figures["tarball"] - to_registry) / per_node) if per_node > 0 else None
            lines.append(
                f"Goal N={n}: site-registry controller egress <= 1.1 x tarball: {ratio:.3f} x "
                f"({r['controller_tx'] / MIB:.1f} MiB), {'met' if ratio <= 1.1 else 'NOT met'}; "
                f"{to_registry / MIB:.1f} MiB of it reached the registry host "
                f"({to_registry / figures['tarball']:.3f} x), the rest the nodes, {per_node / MIB:.2f} MiB a node "
                f"(Ansible's own traffic): at this tarball's size the goal holds up to N = {limit}"
            )
        else:
            per_node = r["served"] / n
            ratio = per_node / figures["new_layer"]
            lines.append(
                f"Goal N={n}: site-registry upgrade moves only the new layer: the registry host served "
                f"{per_node / MIB:.2f} MiB per node, {ratio:.2f} x the new layer "
                f"({figures['new_layer'] / MIB:.1f} MiB), {'met' if ratio <= 1.1 else 'NOT met'}"
            )
    return lines


def report(saved: dict) -> None:
    print(saved["header"])
    print(table(saved["rows"], saved["sizes"]))
    print()
    figures = saved["sizes"]
    print(NOTES.format(tb=figures["tarball"] // MIB, up=figures["upgrade_tarball"] // MIB,
                       layer=figures["new_layer"] / MIB))  # fmt: skip
    print()
    print("\n".join(goals(saved["rows"], figures)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4,8", help="fleet sizes, comma-separated (default 4,8)")
    parser.add_argument("--sources", default=",".join(SOURCES), help=f"default {','.join(SOURCES)}")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="leave the fleet, the servers and the network in place")
    parser.add_argument("--report", type=Path, metavar="JSON", help="instead: print the table of a saved --json")
    args = parser.parse_args()
    if args.report:
        report(json.loads(args.report.read_text()))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    sources = args.sources.split(",")
    unknown = set(sources) - set(SOURCES)
    if unknown:
        sys.exit(f"--sources: unknown {sorted(unknown)}; known: {','.join(SOURCES)}")
    if "site_registry" in sources and not (ROOT / "roles" / "site_registry").is_dir():
        print("roles/site_registry is not in this checkout: the site_registry source is left out", file=sys.stderr)
        sources.remove("site_registry")
    work = Path(tempfile.mkdtemp(prefix="bench-egress-"))
    logs = work / "logs"
    logs.mkdir()
    env = env_for(collection_root(work / "collections"))
    upgrade_image(env)
    figures = {
        "tarball": TARBALL.stat().st_size,
        "upgrade_tarball": tarball(UPGRADE_TAG).stat().st_size,
        "new_layer": new_layer_bytes(TARBALL, tarball(UPGRADE_TAG)),
    }
    if not sh("docker", "network", "inspect", NETWORK, check=False).returncode == 0:
        sh("docker", "network", "create", NETWORK)
    rows, started = [], time.monotonic()
    try:
        addrs = servers(work)
        registry = "site_registry" in sources
        if registry:
            addrs[REGISTRY] = registry_host(env)
        inv = inventory(work, addrs.get(REGISTRY, ""))
        sh(str(VENV / "ansible-playbook"), "-i", fleet_inventory(work / "inventory-lab", FLEET), "lab/fleet.yml",
           "-e", "lab_fleet_state=absent", "-e", f"lab_fleet_name={FLEET}", env=env)  # fmt: skip
        for n in sizes:
            print(f"N={n}: fleet", file=sys.stderr, flush=True)
            nodes = make_fleet(env, work, n)
            prepared(env, inv, work, nodes, logs / f"engine-{n}.log", registry)
            for source in sources:
                rows.append(measure(env, inv, work, logs, nodes, addrs, n, source, upgrade=False))
                if source in UPGRADED:
                    rows.append(measure(env, inv, work, logs, nodes, addrs, n, source, upgrade=True))
                if args.json:
                    args.json.write_text(json.dumps({"sizes": figures, "rows": rows}, indent=1))
    finally:
        if not args.keep:
            sh(str(VENV / "ansible-playbook"), "-i", fleet_inventory(work / "inventory-lab", FLEET), "lab/fleet.yml",
               "-e", "lab_fleet_state=absent", "-e", f"lab_fleet_name={FLEET}", env=env, check=False)  # fmt: skip
            lab_instances(env, "absent", [REGISTRY])
            sh("docker", "rm", "-f", HTTP, SHARE, check=False)
            sh("docker", "network", "rm", NETWORK, check=False)
    total = time.monotonic() - started
    header = (
        f"benchmarks/egress.py --sizes {args.sizes} --sources {','.join(sources)}, {time.strftime('%Y-%m-%d %H:%M')}, "
        f"{os.cpu_count()} cores, {total / 60:.1f} min in all, logs in {logs}"
    )
    saved = {"header": header, "sizes": figures, "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(saved, indent=1))
    report(saved)


if __name__ == "__main__":
    main()
