"""nvidia_driver's preflight on this host (real ansible-playbook, nothing installed) refuses a local apt repository
whose suites and components cannot go together, before the role writes the sources file apt would then reject."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PLAY = """
- hosts: localhost
  gather_facts: false
  vars:
    nvidia_driver_require_gpu: false
    nvidia_driver_repo: local
    nvidia_driver_branch: "570"
    nvidia_driver_local_repo_url: http://mirror.example.internal/nvidia
  tasks:
    - ansible.builtin.include_role:
        name: gpufleet.triton.nvidia_driver
        tasks_from: preflight.yml
    - ansible.builtin.debug:
        msg: "planned {{ __nvidia_driver_selection.packages | join(',') }}"
"""


def preflight(ansible_bin, tmp_path, suites, components):
    (tmp_path / "play.yml").write_text(PLAY)
    (tmp_path / "pci").mkdir(exist_ok=True)
    extra = {
        "nvidia_driver_pci_devices_path": str(tmp_path / "pci"),
        "__nvidia_driver_loaded_version_path": str(tmp_path / "absent"),
        "nvidia_driver_local_repo_suites": suites,
        "nvidia_driver_local_repo_components": components,
    }
    cmd = [str(Path(ansible_bin).with_name("ansible-playbook")), str(tmp_path / "play.yml"), "-i", "localhost,",
           "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}", "-e", json.dumps(extra)]  # fmt: skip
    env = dict(os.environ, ANSIBLE_NOCOLOR="true", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env, check=False)
    return proc.returncode, " ".join((proc.stdout + proc.stderr).split())


@pytest.mark.parametrize(
    ("suites", "components"), [([], []), (["./"], []), (["/", "extra/"], []), (["bookworm"], ["main"])]
)
def test_flat_or_dists_layouts_are_accepted(ansible_bin, tmp_path, suites, components):
    rc, out = preflight(ansible_bin, tmp_path, suites, components)
    # A local repository holds NVIDIA's packages: any branch, under the CUDA repository's names.
    assert rc == 0 and "planned cuda-drivers-570" in out, out[-2000:]


@pytest.mark.parametrize(
    ("suites", "components"), [([], ["main"]), (["./"], ["main"]), (["bookworm"], []), (["bookworm", "./"], ["main"])]
)
def test_suites_and_components_that_do_not_go_together_are_refused(ansible_bin, tmp_path, suites, components):
    rc, out = preflight(ansible_bin, tmp_path, suites, components)
    assert rc != 0, out[-2000:]
    assert f"nvidia_driver_local_repo_suites={json.dumps(suites)}" in out
    assert "a flat repository" in out and "needs its components" in out
