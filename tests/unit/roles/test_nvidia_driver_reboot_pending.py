"""nvidia_driver's pending reboot, with real ansible-playbook on this host: reboot.yml writes the marker when the
packages changed and no reboot follows (nvidia_driver_reboot=never, a container), verify.yml reports the pending
reboot while the loaded module is not the installed version ("reboot pending: loaded X, installed Y"), recognises
nvidia-smi's "Driver/library version mismatch" instead of failing on it, and removes the marker once the node runs
the installed driver. The marker and the module's version file are planted per case; "the installed driver" is a
package this host really has (bash), read by package_facts as the role reads the driver's. Nothing is installed and
nothing reboots (ansible.builtin.reboot refuses a local connection anyway)."""

from __future__ import annotations

import json
import subprocess

import pytest
from _role_play import run_cases

PACKAGE = "bash"
INSTALLED = subprocess.run(["dpkg-query", "-W", "-f=${Version}", PACKAGE], capture_output=True, text=True,
                           check=True).stdout.split("-")[0]  # fmt: skip
OLD = "1.0.0"
HEADER = "index, name, uuid, pci.bus_id, driver_version, memory.total [MiB]"
SMI_OK = f"#!/bin/sh\necho '{HEADER}'\necho '0, NVIDIA H200, GPU-1, 00000000:00:06.0, {INSTALLED}, 143771'\n"
# What nvidia-smi prints after a driver change not yet booted into, and when it cannot reach a driver at all.
SMI_NVML = "#!/bin/sh\necho 'Failed to initialize NVML: Driver/library version mismatch'\n"
SMI_NVML += "echo 'NVML library version: 570.133'\nexit 18\n"
SMI_BROKEN = "#!/bin/sh\necho 'NVIDIA-SMI has failed: it could not communicate with the NVIDIA driver.'\nexit 9\n"
SMI_UNEXPECTED = "#!/bin/sh\necho 'nvidia-smi must not be asked while a reboot is pending' >&2\nexit 99\n"

VERIFY_CASES = {
    # case: (marker content or None, loaded module version or None, nvidia-smi)
    "marker_old_driver_loaded": (INSTALLED, OLD, SMI_UNEXPECTED),
    "marker_nothing_loaded": (INSTALLED, None, SMI_UNEXPECTED),
    "marker_rebooted": (INSTALLED, INSTALLED, SMI_OK),
    "mismatch_without_marker": (None, OLD, SMI_UNEXPECTED),
    "nvml_mismatch": (None, None, SMI_NVML),
    "smi_broken": (None, None, SMI_BROKEN),
    "no_driver_loaded": (None, None, SMI_OK),
}
REBOOT_CASES = {
    # case: host variables of the moment reboot.yml runs
    "changed_reboot_never": {"nvidia_driver_reboot": "never", "__nvidia_driver_in_container": False},
    "changed_in_a_container": {"nvidia_driver_reboot": "always", "__nvidia_driver_in_container": True},
    "nothing_changed": {
        "nvidia_driver_reboot": "never",
        "__nvidia_driver_in_container": False,
        "__nvidia_driver_packages_changed": False,
    },
}

PLAY = """- hosts: verify_cases
  gather_facts: false
  environment:
    PATH: "{{ case_bin }}:{{ lookup('ansible.builtin.env', 'PATH') }}"
  vars:
    __nvidia_driver_pkg_mgr: apt
    __nvidia_driver_selection: {main_package: PACKAGE}
    __nvidia_driver_packages_changed: false
    nvidia_driver_reboot_required: false
    # "The driver" here is bash's version: no Triton image to check it against.
    nvidia_driver_triton_image: ""
  tasks:
    - ansible.builtin.include_role:
        name: gpufleet.triton.nvidia_driver
        tasks_from: detect.yml
    - ansible.builtin.include_role:
        name: gpufleet.triton.nvidia_driver
        tasks_from: verify.yml
    - ansible.builtin.stat:
        path: "{{ case_marker }}"
      register: marker
    - ansible.builtin.debug:
        msg:
          pending: "{{ nvidia_driver_reboot_pending }}"
          message: "{{ nvidia_driver_reboot_pending_message }}"
          marker: "{{ marker.stat.exists }}"
          loaded: "{{ nvidia_driver_loaded }}"

- hosts: reboot_cases
  gather_facts: false
  vars:
    __nvidia_driver_selection: {main_package: PACKAGE}
    __nvidia_driver_gpu_present: true
    __nvidia_driver_is_controller: false
    __nvidia_driver_modconf_changed: false
    __nvidia_driver_reboot_pending_before: false
    __nvidia_driver_loaded_version: OLD
    nvidia_driver_reboot_allow_controller: false
    nvidia_driver_reboot_timeout: 900
  tasks:
    - ansible.builtin.include_role:
        name: gpufleet.triton.nvidia_driver
        tasks_from: reboot.yml
    - ansible.builtin.stat:
        path: "{{ case_marker }}"
      register: marker
    - ansible.builtin.slurp:
        src: "{{ case_marker }}"
      register: content
      when: marker.stat.exists
    - ansible.builtin.debug:
        msg:
          pending: "{{ nvidia_driver_reboot_pending | default(false) }}"
          message: "{{ nvidia_driver_reboot_pending_message | default('') }}"
          required: "{{ nvidia_driver_reboot_required }}"
          marker: "{{ (content.content | b64decode) if marker.stat.exists else None }}"
          mode: "{{ marker.stat.mode | default(None) }}"
""".replace("PACKAGE", PACKAGE).replace("OLD", OLD)


@pytest.fixture(scope="module")
def results(ansible_bin, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reboot-pending")
    hosts = {}
    for case, (marker, loaded, smi) in VERIFY_CASES.items():
        folder = tmp / case
        (folder / "pci" / "0000:00:06.0").mkdir(parents=True)
        for name, value in (("vendor", "0x10de"), ("class", "0x030200"), ("device", "0x2335")):
            (folder / "pci" / "0000:00:06.0" / name).write_text(value + "\n")
        (folder / "bin").mkdir()
        (folder / "bin" / "nvidia-smi").write_text(smi)
        (folder / "bin" / "nvidia-smi").chmod(0o755)
        if marker is not None:
            (folder / "marker").write_text(marker + "\n")
        if loaded is not None:
            (folder / "module-version").write_text(loaded + "\n")
        hosts[case] = {
            "nvidia_driver_pci_devices_path": str(folder / "pci"),
            "case_bin": str(folder / "bin"),
            "case_marker": str(folder / "marker"),
            "case_module": str(folder / "module-version"),
        }
    for case, hostvars in REBOOT_CASES.items():
        (tmp / case).mkdir()
        hosts[case] = {"case_marker": str(tmp / case / "lib" / "marker"), "case_module": str(tmp / case / "none"),
                       "__nvidia_driver_packages_changed": True, **hostvars}  # fmt: skip
    groups_play = PLAY.replace("hosts: verify_cases", "hosts: " + ":".join(VERIFY_CASES)).replace(
        "hosts: reboot_cases", "hosts: " + ":".join(REBOOT_CASES)
    )
    paths = {"__nvidia_driver_loaded_version_path": "{{ case_module }}",
             "__nvidia_driver_reboot_marker_path": "{{ case_marker }}"}  # fmt: skip
    report = run_cases(ansible_bin, tmp, groups_play, hosts, "-e", json.dumps(paths))
    out = {}
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, res in task["hosts"].items():
                if res.get("failed") and host not in out:
                    out[host] = (True, " ".join(str(res.get("msg", "")).split()))
                elif task["task"]["name"] == "ansible.builtin.debug" and host not in out:
                    out[host] = (False, res["msg"])
    return out


def state(results, case):
    failed, found = results[case]
    assert not failed, found
    return found


@pytest.mark.parametrize("case", ["marker_old_driver_loaded", "mismatch_without_marker"])
def test_an_old_driver_still_loaded_is_a_pending_reboot_reported_without_asking_nvidia_smi(results, case):
    found = state(results, case)
    assert found["pending"] is True and found["loaded"] is False
    assert found["message"] == f"reboot pending: loaded {OLD}, installed {INSTALLED}"
    assert found["marker"] is (case == "marker_old_driver_loaded")  # kept until the node runs the new driver


def test_a_marker_with_no_driver_loaded_stays_pending(results):
    found = state(results, "marker_nothing_loaded")
    assert (found["pending"], found["marker"]) == (True, True)
    assert found["message"] == f"reboot pending: loaded none, installed {INSTALLED}"


def test_the_marker_goes_once_the_node_runs_the_installed_driver(results):
    found = state(results, "marker_rebooted")
    assert (found["pending"], found["marker"], found["loaded"], found["message"]) == (False, False, True, "")


def test_nvmls_version_mismatch_is_reported_as_a_pending_reboot_not_a_failure(results):
    found = state(results, "nvml_mismatch")
    assert found["pending"] is True and found["loaded"] is False
    assert found["message"].startswith(f"reboot pending: loaded none, installed {INSTALLED} (nvidia-smi: Failed to ")
    assert "Driver/library version mismatch" in found["message"]


def test_another_nvidia_smi_failure_still_fails(results):
    failed, msg = results["smi_broken"]
    assert failed and "non-zero return code" in msg


def test_no_driver_loaded_and_no_marker_is_not_pending(results):
    found = state(results, "no_driver_loaded")
    assert (found["pending"], found["marker"], found["loaded"]) == (False, False, True)


@pytest.mark.parametrize("case", ["changed_reboot_never", "changed_in_a_container"])
def test_a_change_without_a_reboot_leaves_the_marker_with_the_installed_version(results, case):
    found = state(results, case)
    assert found["required"] is True and found["pending"] is True
    assert found["marker"] == INSTALLED + "\n" and found["mode"] == "0644"
    assert found["message"] == f"reboot pending: loaded {OLD}, installed {INSTALLED}"


def test_no_change_no_marker(results):
    found = state(results, "nothing_changed")
    # No marker: null, which ansible-core before 2.19 (no native types in set_fact/debug) renders as "".
    assert (found["required"], found["pending"], found["marker"] or None) == (False, False, None)
