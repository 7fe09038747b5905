"""triton_server on a node that waits for a reboot into its new NVIDIA driver, with real ansible-playbook on this host:
the whole role (tasks/main.yml) starts nothing and changes nothing there, says why, and fails nothing, whether
nvidia_driver set nvidia_driver_reboot_pending in the play or the role reads the node itself (nvidia_driver's
reboot_pending entry point: the marker against the loaded module's version). A node that runs its installed driver
goes on into the role (here to the instance check, which the case's bad instance list fails on purpose).
Each case is an inventory host; the marker, the module's version file and the node's lock are planted per case."""

from __future__ import annotations

import json

import pytest
from _role_play import run_cases

PENDING = "reboot pending: loaded 570.124.06, installed 570.133.20"
# An instance list preflight refuses: the role reached its first check of the node's settings.
BAD_INSTANCES = [{"name": "main", "gpus": ["gpu0"]}]

CASES = {
    # case: (host variables, marker content or None, loaded module version or None)
    "fact_from_nvidia_driver": (
        {
            "nvidia_driver_reboot_pending": True,
            "nvidia_driver_reboot_pending_message": PENDING,
            "nvidia_driver_stopped_units": ["triton-server@main.service"],
        },
        None,
        None,
    ),
    "marker_on_the_node": ({}, "570.133.20", "570.124.06"),
    "marker_and_the_new_driver_runs": ({}, "570.133.20", "570.133.20"),
    "no_marker": ({}, None, "570.124.06"),
    "driver_ran_nothing_pending": ({"nvidia_driver_reboot_pending": False}, "570.133.20", "570.124.06"),
}

REPORT = "Report Triton left stopped until the node reboots"
PLAY = """- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: gpufleet.triton.triton_server
    - ansible.builtin.stat:
        path: "{{ case_lock }}"
      register: lock
    - ansible.builtin.debug:
        msg:
          pending: "{{ nvidia_driver_reboot_pending }}"
          lock: "{{ lock.stat.exists }}"
"""


@pytest.fixture(scope="module")
def results(ansible_bin, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("triton-pending")
    hosts = {}
    for case, (hostvars, marker, loaded) in CASES.items():
        folder = tmp / case
        folder.mkdir()
        if marker is not None:
            (folder / "marker").write_text(marker + "\n")
        if loaded is not None:
            (folder / "module-version").write_text(loaded + "\n")
        hosts[case] = {
            "case_marker": str(folder / "marker"),
            "case_module": str(folder / "module-version"),
            "case_lock": str(folder / "triton-server.lock"),
            "triton_server_instances": BAD_INSTANCES,
            "triton_server_model_repository_src": str(folder),
            **hostvars,
        }
    paths = {
        "__nvidia_driver_loaded_version_path": "{{ case_module }}",
        "__nvidia_driver_reboot_marker_path": "{{ case_marker }}",
        "__triton_server_lock_path": "{{ case_lock }}",
    }
    report = run_cases(ansible_bin, tmp, PLAY, hosts, "-e", json.dumps(paths))
    out = {}
    for task in report["plays"][0]["tasks"]:
        for host, res in task["hosts"].items():
            out.setdefault(host, {"ran": [], "failed": None})
            if not res.get("skipped"):
                out[host]["ran"].append(task["task"]["name"])
            if res.get("failed"):
                items = [r.get("msg", "") for r in res.get("results", []) if r.get("failed")]
                out[host]["failed"] = " ".join(" | ".join(items or [str(res.get("msg", ""))]).split())
            if task["task"]["name"].endswith(REPORT) and not res.get("skipped"):
                out[host]["report"] = " ".join(res["msg"].split())
            if task["task"]["name"] == "ansible.builtin.debug":
                out[host]["end"] = res["msg"]
    return out


@pytest.mark.parametrize("case", ["fact_from_nvidia_driver", "marker_on_the_node"])
def test_a_pending_reboot_leaves_triton_stopped_and_fails_nothing(results, case):
    found = results[case]
    assert found["failed"] is None, found
    assert found["end"] == {"pending": True, "lock": False}  # the play went on; the role took no lock
    assert found["report"].startswith(f"Triton not started on {case}: {PENDING}. This role starts none of its units")
    assert "changes nothing of Triton until the node runs the new driver" in found["report"]
    # Nothing after the gate ran: no check, no lock, no file.
    assert not [name for name in found["ran"] if "lock" in name.lower() or name.startswith("Check")], found["ran"]


def test_the_units_nvidia_driver_stopped_are_named(results):
    assert "none of its units here (triton-server@main.service)" in results["fact_from_nvidia_driver"]["report"]


@pytest.mark.parametrize("case", ["marker_and_the_new_driver_runs", "no_marker", "driver_ran_nothing_pending"])
def test_a_node_that_runs_its_driver_goes_on_into_the_role(results, case):
    found = results[case]
    assert "report" not in found
    assert found["failed"] is not None and 'gpus "all" or a list of GPU indexes' in found["failed"], found
