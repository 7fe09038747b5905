"""image_cache, seed: no node takes the seed's tarball before the seed host's part has saved it in this run (real
ansible-playbook on this host, the role's task files on the local connection, the seed host's part never run). In a
rolling play whose seed host is in a later batch, the first batch's preflight stops, naming the seed host and how to
order the run; a node that gets past the preflight without the seed host's part stops before it reads the controller's
tarball. Both used to go on with no sha256 (playbooks/site.yml now runs the seed host's part before its batches)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

IMAGE = "nvcr.io/nvidia/tritonserver:24.10-py3"
PLAY = """
- hosts: all
  gather_facts: false
  serial: 1
  tasks:
    - ansible.builtin.include_role:
        name: gpufleet.triton.image_cache
        tasks_from: {tasks_from}
"""


def run(ansible_bin, tmp_path, tasks_from, hosts):
    (tmp_path / "play.yml").write_text(PLAY.format(tasks_from=tasks_from))
    extra = ["-e", "image_cache_source=seed", "-e", "image_cache_seed_host=cache-1", "-e", f"image_cache_image={IMAGE}",
             "-e", f"image_cache_seed_fetch_dir={tmp_path}",
             "-e", f"ansible_python_interpreter={sys.executable}"]  # fmt: skip
    cmd = [str(Path(ansible_bin).with_name("ansible-playbook")), str(tmp_path / "play.yml"), "-i", hosts,
           "-c", "local", *extra]  # fmt: skip
    env = dict(os.environ, ANSIBLE_NOCOLOR="true", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, check=False)
    return proc.returncode, " ".join((proc.stdout + proc.stderr).split())


def test_first_batch_stops_when_the_seed_host_comes_later(ansible_bin, tmp_path):
    rc, out = run(ansible_bin, tmp_path, "preflight.yml", "node,cache-1,")
    assert rc != 0, out[-2000:]
    assert (
        "image_cache_source=seed needs image_cache_seed_host, the host that saves the image, in this node's batch or in"
        " a play of its own before it (include the role with tasks_from seed there; playbooks/site.yml does)" in out
    ), out[-2000:]
    assert "got image_cache_seed_host=cache-1" in out and "this batch has node)" in out, out[-2000:]


def test_node_does_not_go_ahead_of_its_seed_host(ansible_bin, tmp_path):
    rc, out = run(ansible_bin, tmp_path, "seed_tarball.yml", "node,")
    assert rc != 0, out[-2000:]
    assert (
        f"image_cache_source=seed: cache-1 (image_cache_seed_host) has not saved {IMAGE} and fetched its tarball to"
        " the controller in this run." in out
    ), out[-2000:]
    assert "Nothing was changed on node" in out and "Hand the seed's tarball" not in out, out[-2000:]
