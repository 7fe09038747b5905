"""nvidia_driver's driver <-> Triton image check with real ansible-playbook on this host (the table itself:
tests/unit/plugins/filter/test_nvidia_driver_triton_requirement_filter.py).

Each case of the read-only entry point (tasks_from: triton_check, what playbooks/upgrade_triton.yml runs) is an
inventory host whose "loaded driver" is a file of its own. One case runs the whole preflight, for the planned driver."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from _role_play import role_play, run_cases

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_IMAGE = yaml.safe_load((ROOT / "roles/triton_server/defaults/main.yml").read_text())["triton_server_image"]
IMG = "nvcr.io/nvidia/tritonserver:{}"

CASES = {
    # case: (loaded driver or None, host vars)
    "default_image_refused": ("530.30.02", {}),
    "default_image_passes": ("560.35.03", {}),
    "exact": ("570.124.06", {"triton_server_image": IMG.format("25.03-py3")}),
    "notes_said_560": ("560.35.03", {"triton_server_image": IMG.format("25.03-py3")}),
    "newer_release": ("615.61", {"triton_server_image": IMG.format("27.01-py3")}),
    "newer_release_refused": ("580.65.06", {"triton_server_image": IMG.format("27.01-py3")}),
    "gap_release": ("580.65.06", {"triton_server_image": IMG.format("25.09-py3")}),
    "variant_without_row": ("570.124.06", {"triton_server_image": IMG.format("25.03-pyt-python-py3")}),
    "variant_row": ("590.44.01", {"triton_server_image": IMG.format("25.12-vllm-python-py3")}),
    "no_release_tag": ("580.65.06", {"triton_server_image": "registry.local/triton:prod"}),
    "no_driver": (None, {}),
    "check_off": ("470.256.02", {"nvidia_driver_triton_image": ""}),
    "explicit_minimum": ("580.65.06", {"nvidia_driver_triton_min_branch": 590}),
}


@pytest.fixture(scope="module")
def report(ansible_bin, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("triton_check")
    hosts = {}
    for case, (loaded, host_vars) in CASES.items():
        path = tmp / case / "version"
        path.parent.mkdir()
        if loaded is not None:
            path.write_text(loaded + "\n")
        hosts[case] = {"fake_loaded": str(path), "nvidia_driver_triton_forward_compat": False, **host_vars}
    # The role's own vars/main.yml names the real path; only extra vars outrank it.
    extra = "__nvidia_driver_loaded_version_path={{ fake_loaded }}"
    play = role_play("gpufleet.triton.nvidia_driver", "triton_check.yml")
    return run_cases(ansible_bin, tmp, play, hosts, "-e", extra)


def outcome(report, case):
    """(failed task's message or None, the warnings, the check's message or None)."""
    warnings, failure, message = [], None, None
    for task in report["plays"][0]["tasks"]:
        result = task["hosts"].get(case) or {}
        warnings += result.get("warnings", [])
        if task["task"]["name"].endswith("Fail when the driver is older than the Triton image needs") and result:
            message = None if result.get("skipped") else result.get("msg")
        if result.get("failed"):
            failure = result["msg"]
    return failure, warnings, message


def test_the_default_image_is_checked_when_the_inventory_sets_none(report):
    failure, warnings, _ = outcome(report, "default_image_refused")
    assert failure.startswith("default_image_refused: driver 530.30.02 (branch 530) does not satisfy " + DEFAULT_IMAGE)
    assert warnings == []
    failure, warnings, message = outcome(report, "default_image_passes")
    assert failure is None and warnings == []
    assert message.startswith("default_image_passes: driver 560.35.03 (branch 560) satisfies " + DEFAULT_IMAGE)


def test_an_exact_row_passes_without_a_warning(report):
    assert outcome(report, "exact")[:2] == (None, [])


def test_cudas_minimum_wins_over_the_release_notes_and_the_message_says_so(report):
    failure, warnings, _ = outcome(report, "notes_said_560")
    assert "needs driver 570 or later" in failure
    assert "Triton 25.03 release notes: driver R560; CUDA 12.8 needs R570 or later" in failure
    assert warnings == []


def test_a_release_the_table_does_not_know_warns_and_is_checked_against_the_assumed_minimum(report):
    failure, warnings, message = outcome(report, "newer_release")
    assert failure is None and "needs driver 615 or later" in message
    (warning,) = warnings
    assert warning.startswith("newer_release: " + IMG.format("27.01-py3") + ": the table does not know release 27.01")
    assert "it assumed R615" in warning
    failure, warnings, _ = outcome(report, "newer_release_refused")
    assert "does not satisfy" in failure and "needs driver 615 or later" in failure
    assert len(warnings) == 1 and "does not know release 27.01" in warnings[0]


def test_a_release_between_rows_warns(report):
    failure, warnings, _ = outcome(report, "gap_release")
    assert failure is None
    assert len(warnings) == 1 and "does not know release 25.09" in warnings[0] and "assumed R580" in warnings[0]


def test_a_variant_warns_unless_it_has_a_row_of_its_own(report):
    failure, warnings, _ = outcome(report, "variant_without_row")
    assert failure is None
    assert len(warnings) == 1 and "no row for variant 'pyt-python-py3' of release 25.03" in warnings[0]
    assert outcome(report, "variant_row")[:2] == (None, [])


def test_a_tag_without_a_release_warns(report):
    failure, warnings, message = outcome(report, "no_release_tag")
    assert failure is None and message is None
    assert len(warnings) == 1 and "has no NGC release tag" in warnings[0]


def test_a_node_without_a_loaded_driver_warns(report):
    failure, warnings, _ = outcome(report, "no_driver")
    assert failure is None
    assert len(warnings) == 1 and "no_driver: no NVIDIA driver is loaded" in warnings[0]


def test_an_empty_image_skips_the_check(report):
    assert outcome(report, "check_off") == (None, [], None)


def test_an_explicit_minimum_replaces_the_table(report):
    failure, warnings, _ = outcome(report, "explicit_minimum")
    assert failure.startswith("explicit_minimum: driver 580.65.06 is older than nvidia_driver_triton_min_branch=590")
    assert warnings == []


PREFLIGHT = """
- hosts: localhost
  gather_facts: false
  vars:
    nvidia_driver_require_gpu: false
    nvidia_driver_triton_forward_compat: false
  tasks:
    - ansible.builtin.include_role:
        name: gpufleet.triton.nvidia_driver
        tasks_from: preflight.yml
"""


def test_preflight_checks_the_planned_driver_against_the_default_image(ansible_bin, tmp_path):
    """No triton_server_image in the inventory and triton_server not run yet (site.yml runs nvidia_driver first): the
    planned branch is checked against triton_server's default image, not skipped."""
    (tmp_path / "play.yml").write_text(PREFLIGHT)
    (tmp_path / "pci").mkdir()
    paths = {
        "__nvidia_driver_loaded_version_path": str(tmp_path / "none"),
        "nvidia_driver_pci_devices_path": str(tmp_path / "pci"),
    }
    cmd = [str(Path(ansible_bin).with_name("ansible-playbook")), str(tmp_path / "play.yml"), "-i", "localhost,",
           "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}", "-e", json.dumps(paths),
           "-e", "nvidia_driver_branch=535"]  # fmt: skip
    env = dict(os.environ, ANSIBLE_NOCOLOR="true", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env, check=False)
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0, out[-2000:]
    assert f"localhost: driver 535 (branch 535) does not satisfy {DEFAULT_IMAGE}" in out, out[-2000:]
