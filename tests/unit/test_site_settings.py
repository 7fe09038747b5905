"""site.yml refuses bad site_* settings before any role runs (real ansible-playbook on this host, --tags never)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SITE = Path(__file__).resolve().parents[2] / "playbooks" / "site.yml"


def site(ansible_bin, extra):
    playbook = Path(ansible_bin).with_name("ansible-playbook")
    cmd = [str(playbook), str(SITE), "-i", "localhost,", "-c", "local", "--check", "--tags", "never",
           "-e", f"ansible_python_interpreter={sys.executable}",
           "-e", "triton_hosts=localhost", "-e", extra]  # fmt: skip
    env = dict(os.environ, ANSIBLE_NOCOLOR="true", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, check=False)
    return proc.returncode, " ".join((proc.stdout + proc.stderr).split())


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("site_skip_converged=maybe", "argument 'site_skip_converged' is of type"),
        ("site_nvidia_driver=2", "argument 'site_nvidia_driver' is of type"),
        ("site_converge_stamp_path=var/lib/stamp.json", "must be an absolute file path"),
        ("site_converge_stamp_path=/var/lib/gpufleet/", 'got "/var/lib/gpufleet/"'),
        (
            "site_converge_max_age=1day",
            'site_converge_max_age must be whole seconds or a duration such as 12h, 1d or 1d12h, got "1day"',
        ),
        ("site_converge_max_age=-5", 'got "-5"'),
    ],
)
def test_bad_setting_is_named(ansible_bin, extra, expected):
    rc, out = site(ansible_bin, extra)
    assert rc != 0 and expected in out, out[-2000:]


def test_good_settings_pass(ansible_bin):
    """The check passes and the play goes on to its end (--tags never selects none of the roles' includes)."""
    rc, out = site(
        ansible_bin,
        "site_skip_converged=false site_converge_stamp_path=/run/gpufleet/stamp.json site_converge_max_age=1d12h",
    )
    assert rc == 0 and "TASK [Check the converge stamp's path and age] " in out and "failed=0" in out, out[-2000:]
    assert "Validation of arguments failed" not in out and "absolute file path" not in out, out[-2000:]
    assert "site_converge_max_age must be" not in out, out[-2000:]
