"""site.yml on a batch with one node that cannot be worked on: its SSH key is refused, its sudo asks for a password,
or it has no Python (issue 21, "Bad input and faults").

The run must name the node and the cause, stop at that batch (max_fail_percentage 0) quickly, and leave every node
of the batch as it was: no Docker engine, no daemon.json, no converge stamp folder, no Triton run lock. Two batch
shapes: the default serial [1, '10%', '25%'] with the faulty node first (alone in its batch: no other node may be
touched), and serial 100% with the faulty node in the middle (the others share its batch: the fault is found at the
first task, fact gathering, and no node of the batch may go on past the play's pre-tasks, which change nothing).

Three lab instances (test-ssh-fault-1..3, made by lab/fleet.yml but not labelled as the lab fleet) are reached over
SSH as inventories/lab reaches its fleet (its group_vars: user deploy, the lab key, sudo, pipelining); they pull from
the lab registry. Each case puts its fault on one node and takes it away again afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import yaml

# the benchmarks' lab helpers (lab/fleet.yml for named instances)
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from _lab import LAB, ROOT, VENV, collection_root, fleet

IMAGE = "localhost/gpufleet-lab/debian12"
NODES = ["test-ssh-fault-1", "test-ssh-fault-2", "test-ssh-fault-3"]
KEY = LAB / "ssh" / "id_ed25519"
# Generous: a run that finds its fault at the first task ends in seconds; this only tells a stop from a hang.
RUN_LIMIT = 120
# What a run that went into the roles would have left on a node.
TRACES = {
    "docker.io installed": "dpkg -s docker.io >/dev/null 2>&1",
    "/etc/docker/daemon.json": "test -e /etc/docker/daemon.json",
    "/var/lib/gpufleet": "test -e /var/lib/gpufleet",
    "/run/triton-server.lock": "test -e /run/triton-server.lock",
}
SAVED = "/root/ssh-fault-saved"


def _names(tasks, folder):
    """The names of tasks, of their blocks' tasks and of the tasks of the files they import."""
    for task in tasks:
        yield task.get("name")
        for part in ("block", "rescue", "always"):
            yield from _names(task.get(part, []), folder)
        imported = task.get("ansible.builtin.import_tasks") or task.get("import_tasks")
        if imported:
            yield from _names(yaml.safe_load((folder / imported).read_text()), folder)


# What a node may run before the run stops: site.yml's first play, which reads every node at once and changes
# nothing (settings, the converge stamp, which nodes need a run), and the rollout play's pre_tasks (batch guards).
PLAYBOOKS = ROOT / "playbooks"
SITE = yaml.safe_load((PLAYBOOKS / "site.yml").read_text())
ROLLOUT = next(play for play in SITE if play.get("name") == "Take GPU nodes to serving Triton")
PRE_TASKS = {
    "Gathering Facts",
    *_names(SITE[0]["tasks"], PLAYBOOKS),
    *_names(ROLLOUT.get("pre_tasks", []), PLAYBOOKS),
}

# Each fault: the shell run as root in the node to put it in place, and the one that takes it away.
FAULTS = {
    # Another controller's key: sshd refuses the lab's.
    "key_refused": (
        f"mkdir -p {SAVED} && cp -p /home/deploy/.ssh/authorized_keys {SAVED}/ && "
        "cat > /home/deploy/.ssh/authorized_keys",
        f"cp -p {SAVED}/authorized_keys /home/deploy/.ssh/authorized_keys && rm -rf {SAVED}",
    ),
    # sudo as shipped by most distributions: deploy has a password and must type it.
    "sudo_password": (
        f"mkdir -p {SAVED} && cp -p /etc/sudoers.d/deploy /etc/shadow {SAVED}/ && "
        "echo 'deploy ALL=(ALL) ALL' > /etc/sudoers.d/deploy && chmod 0440 /etc/sudoers.d/deploy && "
        "echo deploy:secret | chpasswd",
        f"cp -p {SAVED}/deploy /etc/sudoers.d/deploy && cp -p {SAVED}/shadow /etc/shadow && rm -rf {SAVED}",
    ),
    # No python3 anywhere interpreter discovery looks.
    "python_missing": (
        f"mkdir -p {SAVED} && mv /usr/bin/python3 /usr/bin/python3.* {SAVED}/ && ! command -v python3",
        f"mv {SAVED}/python3* /usr/bin/ && rm -rf {SAVED}",
    ),
}
# What Ansible must say about the faulty node, and how it counts it in the recap.
CAUSES = {
    "key_refused": ("UNREACHABLE!", r"Permission denied \(publickey\)", "unreachable"),
    "sudo_password": ("FAILED!", r"Missing sudo password", "failed"),
    "python_missing": ("FAILED!", r"The module interpreter '/usr/bin/python3' was not found", "failed"),
}


def docker(*args, check=True, **kwargs):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, **kwargs)


def on_node(node, script, check=True, **kwargs):
    return docker("exec", "-i", node, "sh", "-c", script, check=check, **kwargs)


def traces(node):
    """What a run left on the node, from TRACES (an empty list: nothing)."""
    script = "; ".join(f"{test} && echo {json.dumps(name)}" for name, test in TRACES.items())
    return on_node(node, script + "; true").stdout.splitlines()


def address(node):
    fmt = '{{(index .NetworkSettings.Networks "gpufleet-lab").IPAddress}}'
    return docker("inspect", "-f", fmt, node).stdout.strip()


def recap(output):
    """PLAY RECAP as {host: {ok: n, changed: n, unreachable: n, failed: n, ...}} ({} when there is none)."""
    rows = {}
    for host, counts in re.findall(r"^(\S+)\s*:\s*(ok=.*)$", output.partition("PLAY RECAP")[2], re.MULTILINE):
        rows[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
    return rows


def tasks_run(output, node):
    """The tasks that reported a result for node, in order ("Gathering Facts" for each batch's play it was in)."""
    task, seen = None, []
    for line in output.splitlines():
        header = re.match(r"^TASK \[(.*)\] \*", line)
        if header:
            task = header.group(1)
        elif re.match(r"^(ok|changed|skipping|fatal|failed|included|unreachable)\b", line) and (
            f"[{node}]" in line or re.search(rf" for (.*, )?{re.escape(node)}(,|$)", line)
        ):
            if not seen or seen[-1] != task:
                seen.append(task)
    return seen


def past_pre_tasks(output, node):
    return [task for task in tasks_run(output, node) if task not in PRE_TASKS]


class Lab:
    """The instances, their inventory and how to run site.yml on them."""

    def __init__(self, work: Path, env: dict):
        self.work, self.env = work, env

    def make_nodes(self):
        fleet(self.env, "absent", NODES)
        fleet(self.env, "present", NODES)
        pub = KEY.with_suffix(".pub").read_text()
        for node in NODES:
            # lab/fleet.yml lets its key in; done here as well so these nodes do not depend on it.
            on_node(
                node,
                "install -d -m 0700 -o deploy -g deploy /home/deploy/.ssh && "
                "cat > /home/deploy/.ssh/authorized_keys && "
                "chown deploy:deploy /home/deploy/.ssh/authorized_keys && chmod 0600 /home/deploy/.ssh/authorized_keys",
                input=pub,
            )
        inventory = self.work / "inventory"
        shutil.rmtree(inventory, ignore_errors=True)
        inventory.mkdir()
        # inventories/lab's group_vars: the lab's SSH settings, registry pull path, model repository in this checkout
        # (lab_checkout as a host variable: group_vars would find it relative to this temporary folder).
        (inventory / "group_vars").symlink_to(ROOT / "inventories" / "lab" / "group_vars")
        hosts = {n: {"ansible_host": address(n), "lab_checkout": str(ROOT)} for n in NODES}
        doc = {"triton_nodes": {"hosts": hosts}, "lab_registry": {"hosts": {n: None for n in NODES}}}
        (inventory / "hosts.yml").write_text("---\n" + json.dumps(doc, indent=2) + "\n")
        self.inventory = inventory
        # Every node healthy before any fault: reached as deploy, with sudo and Python.
        rc, out, _, _ = self.run([str(VENV / "ansible"), "triton_nodes", "-i", str(inventory), "-m", "ping"])
        assert rc == 0, f"the instances are not reachable before any fault:\n{out}"

    def clean(self):
        """Nodes with no trace of a run (an earlier case that went on would have left some): made again if not."""
        if any(traces(n) for n in NODES):
            self.make_nodes()

    def run(self, cmd, limit=RUN_LIMIT):
        """cmd in its own process group, with fresh SSH control sockets (a master left by an earlier run would let a
        refused key in): (rc, output, wall seconds, why it was stopped or None). It is stopped (the group killed)
        once any node gets past the pre-tasks, which must not happen here, or after `limit` seconds."""
        control = tempfile.mkdtemp(prefix="cp-", dir=self.work)
        env = dict(self.env, ANSIBLE_SSH_CONTROL_PATH_DIR=control)
        start, lines, stopped = time.monotonic(), [], None
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
        reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
        reader.start()
        try:
            while proc.poll() is None and not stopped:
                time.sleep(0.2)
                if any(past_pre_tasks("".join(lines), node) for node in NODES):
                    stopped = "a node went on past the pre-tasks"
                elif time.monotonic() - start > limit:
                    stopped = f"still running after {limit} s"
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            reader.join(10)
            for sock in Path(control).iterdir():
                subprocess.run(["ssh", "-oControlPath=" + str(sock), "-Oexit", "x"], capture_output=True, check=False)
        return proc.returncode, "".join(lines), time.monotonic() - start, stopped


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if docker("image", "inspect", IMAGE, check=False).returncode != 0:
        pytest.skip(f"{IMAGE} is missing (make lab)")
    work = tmp_path_factory.mktemp("ssh-faults")
    env = dict(os.environ, PATH=f"{VENV}:{os.environ['PATH']}", ANSIBLE_NOCOLOR="true", ANSIBLE_FORCE_COLOR="false")
    env.setdefault("GPUFLEET_LAB_CACHE", str(LAB))
    # tests/conftest.py points Ansible at this controller's Python (for local tasks); nodes must discover their own.
    env.pop("ANSIBLE_PYTHON_INTERPRETER", None)
    if not env.get("ANSIBLE_COLLECTIONS_PATH"):
        env["ANSIBLE_COLLECTIONS_PATH"] = str(collection_root(work / "collections"))
    if not KEY.exists():
        KEY.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(KEY)], check=True)
    # A key no node knows: the refused one's replacement in authorized_keys.
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(work / "other")], check=True)
    lab = Lab(work, env)
    try:
        lab.make_nodes()
        yield lab
    finally:
        fleet(env, "absent", NODES)


@pytest.mark.parametrize("serial", ["default", "100%"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_faulty_node_is_named_and_stops_its_batch_with_nothing_changed(lab, fault, serial):
    lab.clean()
    # Default serial: the faulty node first, alone in its batch. 100%: in the middle of the one batch.
    bad = NODES[0] if serial == "default" else NODES[1]
    healthy = [n for n in NODES if n != bad]
    put, take = FAULTS[fault]
    on_node(bad, put, input=(lab.work / "other.pub").read_text() if fault == "key_refused" else None)
    try:
        cmd = [str(VENV / "ansible-playbook"), "site.yml", "-i", str(lab.inventory)]
        cmd += [] if serial == "default" else ["-e", f"triton_rollout_serial={serial}"]
        rc, out, wall, stopped = lab.run(cmd)
    finally:
        on_node(bad, take)
    shown = f"rc={rc} after {wall:.0f} s{', stopped: ' + stopped if stopped else ''}\n{out[-10000:]}"
    print(shown)  # pytest -rP shows what Ansible said
    status, cause, counted = CAUSES[fault]

    # The node and the cause, in one message.
    said = re.search(rf"^fatal: \[{bad}\]: {re.escape(status)} =>.*?(?=^\S|\Z)", out, re.MULTILINE | re.DOTALL)
    assert said, f"no '{status}' for {bad}:\n{shown}"
    message = " ".join(said.group(0).split())  # the YAML result format folds long lines
    assert re.search(cause, message), f"the message for {bad} does not give the cause ({cause}):\n{shown}"
    # A healthy node is reported failing only to stop the batch, naming the faulty node.
    for node in healthy:
        for other in re.findall(rf"^fatal: \[{node}\]: .*?(?=^\S|\Z)", out, re.MULTILINE | re.DOTALL):
            assert bad in other, f"{node} is healthy but reported as failing:\n{shown}"

    # The run stopped before any role, whatever the batches: every node is read first, all at once; the faulty node
    # stops at its first task and the others when the read ends, with a message that names the faulty node.
    assert tasks_run(out, bad) == ["Gathering Facts"], shown
    for node in healthy:
        ran = tasks_run(out, node)
        assert ran[:1] == ["Gathering Facts"], f"{node} ran {ran[:5]}\n{shown}"
        assert past_pre_tasks(out, node) == [], f"{node} went on: {past_pre_tasks(out, node)[:5]}...\n{shown}"
        assert re.search(rf"^fatal: \[{node}\]: FAILED!.*Nothing was changed on any node: {bad}", out,
                         re.MULTILINE | re.DOTALL), f"{node} was not stopped naming {bad}\n{shown}"  # fmt: skip
    assert not stopped and rc in (2, 4), shown
    rows = recap(out)
    assert rows.get(bad, {}).get(counted) == 1, f"{bad} in the recap:\n{shown}"
    assert sorted(rows) == sorted(NODES), shown
    assert all(row["changed"] == 0 for row in rows.values()), shown
    # One play header: the rollout's batches, or the play after them, would print another.
    assert re.findall(r"^PLAY \[(.*)\]", out, re.MULTILINE) == ["Find the nodes that need a run"], shown
    for node in NODES:
        assert traces(node) == [], f"{node} was changed: {traces(node)}\n{shown}"
