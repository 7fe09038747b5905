"""gpufleet.triton.verified_copy over SSH with become, a fleet's usual path, on a lab container.

The node logs in as an unprivileged user and escalates with sudo. verified_copy sends the tarball with the
connection's own transfer; then the module, escalated, hashes it once. With and without pipelining (Ansible's default
is without, which adds the module's own transfer to the connection beside the tarball's).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# the benchmarks' lab helpers (sshd in a lab container)
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from _lab import VENV, ssh_nodes

NODE = "test-verified-copy-become"
IMAGE = "localhost/gpufleet-lab/debian12"
DEST = "/var/cache/gpufleet/images/payload.tar"
SUDOER = (
    "set -e; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends sudo >/dev/null; "
    "id deploy >/dev/null 2>&1 || useradd -m -s /bin/sh deploy; "
    "mkdir -p ~deploy/.ssh; cp /root/.ssh/authorized_keys ~deploy/.ssh/; "
    "chown -R deploy ~deploy/.ssh; echo 'deploy ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/deploy; "
    "mkdir -p /var/cache/gpufleet/images"
)


def docker(*args, check=True):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """(ansible -e variables reaching the node as deploy with become, a 64 MiB payload on the controller)."""
    if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, check=False).returncode != 0:
        pytest.skip(f"{IMAGE} is missing (make lab)")
    work = tmp_path_factory.mktemp("ssh")
    docker("rm", "-f", NODE, check=False)
    # Two small file systems for the temporary folder: one too small for the payload, one with room but not the
    # file system of dest.
    small = ("--tmpfs", "/var/small:size=40m,mode=1777", "--tmpfs", "/var/roomy:size=160m,mode=1777")
    docker("run", "-d", "--name", NODE, *small, "--entrypoint", "sleep", IMAGE, "infinity")
    try:
        key, addrs, opts = ssh_nodes(work, [NODE])
        docker("exec", NODE, "sh", "-c", SUDOER)
        payload = work / "payload.tar"
        payload.write_bytes(os.urandom(64 * 1024 * 1024 + 3))
        login = {
            "ansible_host": addrs[NODE],
            "ansible_user": "deploy",
            "ansible_ssh_private_key_file": str(key),
            "ansible_ssh_common_args": " ".join(opts),
            "ansible_become": True,
            "ansible_python_interpreter": "/usr/bin/python3",
        }
        yield login, payload
    finally:
        docker("rm", "-f", NODE, check=False)


def copy(login, args, pipelining):
    env = dict(
        os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="true", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
        ANSIBLE_PIPELINING=pipelining, ANSIBLE_SSH_CONTROL_PATH_DIR=tempfile.mkdtemp(prefix="cp-"),
    )  # fmt: skip
    cmd = [str(VENV / "ansible"), NODE, "-i", f"{NODE},", "-c", "ssh", "-e", json.dumps(login)]
    cmd += ["-m", "gpufleet.triton.verified_copy", "-a", json.dumps(args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
    try:
        return json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"][NODE]
    except (ValueError, KeyError, IndexError):
        raise AssertionError(f"unexpected ansible output rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}") from None


def on_node(script):
    return docker("exec", NODE, "sh", "-c", script).stdout


@pytest.mark.parametrize("pipelining", ["false", "true"])
def test_sent_as_deploy_checked_as_root(node, pipelining):
    login, payload = node
    on_node(f"rm -f {DEST}")
    digest = hashlib.sha256(payload.read_bytes()).hexdigest()
    args = {"src": str(payload), "dest": DEST, "sha256": digest, "mode": "0640", "owner": "root", "group": "root"}
    res = copy(login, args, pipelining)
    assert res["changed"] and res["copied"], res
    assert on_node(f"stat -c '%U %G %a %s' {DEST}").split() == ["root", "root", "640", str(payload.stat().st_size)]
    assert on_node(f"sha256sum {DEST}").split()[0] == digest
    assert on_node("ls -A ~deploy/.ansible/tmp") == "", "the login user's temporary folder was left behind"
    again = copy(login, args, pipelining)
    assert not again["changed"] and again["transferred"] == 0 and again["checksum_cached"], again


@pytest.mark.parametrize("pipelining", ["false", "true"])
def test_wrong_checksum_fails_over_ssh_and_leaves_dest_alone(node, pipelining):
    login, payload = node
    on_node(f"printf previous > {DEST}")
    wrong = "0" * 64
    res = copy(login, {"src": str(payload), "dest": DEST, "sha256": wrong}, pipelining)
    assert res["failed"] and wrong in res["msg"], res
    assert hashlib.sha256(payload.read_bytes()).hexdigest() in res["msg"], "the message names the arrived sha256"
    assert on_node(f"cat {DEST}") == "previous"
    assert on_node("ls -A /var/cache/gpufleet/images").split() == ["payload.tar"]
    assert on_node("ls -A ~deploy/.ansible/tmp") == "", "the login user's temporary folder was left behind"


def test_a_temporary_folder_without_room_fails_before_anything_is_sent(node):
    """40 MiB of tmpfs for a 64 MiB payload: the task names the folder, its free space and the file's size."""
    login, payload = node
    on_node(f"rm -rf {DEST}")
    args = {"src": str(payload), "dest": DEST, "sha256": hashlib.sha256(payload.read_bytes()).hexdigest()}
    res = copy(dict(login, ansible_remote_tmp="/var/small/tmp"), args, "true")
    assert res["failed"], res
    msg = res["msg"]
    assert msg.startswith("the node's temporary folder /var/small/tmp/ansible-tmp-"), msg
    assert "is on /var/small, which has 40 MiB free" in msg and "(65 MiB) would leave less than 2 MiB" in msg, msg
    assert "nothing was sent" in msg and "ansible_remote_tmp" in msg
    assert f"free: {payload} (65 MiB)" in msg, msg
    assert on_node("ls -A /var/small/tmp") == "", "the temporary folder was left behind"
    assert on_node(f"ls -A {DEST} 2>&1 | grep -c 'No such file'").strip() == "1"


def test_a_temporary_folder_on_another_file_system_warns_of_the_second_copy(node):
    login, payload = node
    on_node(f"rm -f {DEST}")
    digest = hashlib.sha256(payload.read_bytes()).hexdigest()
    args = {"src": str(payload), "dest": DEST, "sha256": digest}
    res = copy(dict(login, ansible_remote_tmp="/var/roomy/tmp"), args, "true")
    assert res["changed"] and res["copied"], res
    assert on_node(f"sha256sum {DEST}").split()[0] == digest
    warnings = " ".join(res.get("warnings", []))
    assert "on another file system than " + DEST in warnings and "ansible_remote_tmp" in warnings, res
    assert on_node("ls -A /var/roomy/tmp") == ""
    same = copy(login, args, "true")
    assert not same.get("warnings"), "no warning when the file was already there"
