"""nvidia_driver's preflight on this host (real ansible-playbook, nothing installed): a loaded driver newer than the
platform's default branch is not replaced unless nvidia_driver_branch says so (seen on a GPU host whose image carried
driver 580 while the role's default for the platform was older; docs/gpu-check.md)."""

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
    triton_server_image: nvcr.io/nvidia/tritonserver:24.10-py3
    nvidia_driver_require_gpu: false
  tasks:
    - ansible.builtin.include_role:
        name: gpufleet.triton.nvidia_driver
        tasks_from: preflight.yml
    - ansible.builtin.debug:
        msg: "planned branch {{ __nvidia_driver_selection.branch }}"
"""


def preflight(ansible_bin, tmp_path, loaded, *extra):
    (tmp_path / "play.yml").write_text(PLAY)
    version = tmp_path / "version"
    if loaded is not None:
        version.write_text(loaded + "\n")
    pci = tmp_path / "pci"
    pci.mkdir(exist_ok=True)
    paths = {"__nvidia_driver_loaded_version_path": str(version), "nvidia_driver_pci_devices_path": str(pci)}
    cmd = [str(Path(ansible_bin).with_name("ansible-playbook")), str(tmp_path / "play.yml"), "-i", "localhost,",
           "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}", "-e", json.dumps(paths),
           *extra]  # fmt: skip
    env = dict(os.environ, ANSIBLE_NOCOLOR="true", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env, check=False)
    return proc.returncode, " ".join((proc.stdout + proc.stderr).split())


def test_newer_loaded_driver_is_not_downgraded_by_default(ansible_bin, tmp_path):
    rc, out = preflight(ansible_bin, tmp_path, "999.12.3")
    assert rc != 0, out[-2000:]
    assert "Driver 999.12.3 is loaded on localhost" in out and "a downgrade" in out
    assert "nvidia_driver_branch=999 to keep that branch" in out


def test_an_explicit_branch_is_honoured(ansible_bin, tmp_path):
    rc, out = preflight(ansible_bin, tmp_path, None)
    planned = out.split("planned branch ")[1].split('"')[0].strip()
    rc, out = preflight(ansible_bin, tmp_path, "999.12.3", "-e", f"nvidia_driver_branch={planned}")
    assert rc == 0 and f"planned branch {planned}" in out, out[-2000:]


@pytest.mark.parametrize("loaded", [None, "1.0.0"])
def test_no_driver_or_an_older_one_passes(ansible_bin, tmp_path, loaded):
    rc, out = preflight(ansible_bin, tmp_path, loaded)
    assert rc == 0 and "planned branch" in out, out[-2000:]
