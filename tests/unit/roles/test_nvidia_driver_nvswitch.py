"""nvidia_driver on NVSwitch hosts, with real ansible-playbook on this host (Debian 12) over planted sysfs trees:
detect.yml finds the NVSwitches of an HGX H100 board (PCI class 0x0680) and the NVLink5 switch management port of an
HGX B200 (a ConnectX function whose VPD names SW_MNG), and nothing on a one-GPU VM; preflight.yml then plans the
fabric manager at the driver's exact version, or refuses before anything changes, naming the variable. Nothing is
installed: preflight only reads the node. Each case is an inventory host."""

from __future__ import annotations

import json

import pytest
from _role_play import run_cases

GPU = ("0x10de", "0x030200", "0x2330")  # H100 SXM
NVSWITCH = ("0x10de", "0x068000", "0x22a3")  # the third-generation NVSwitch of HGX H100 boards
AUDIO = ("0x10de", "0x040300", "0x22ba")
CX7 = ("0x15b3", "0x020700", "0x1021")
H100 = {
    **{f"0000:{bus:02x}:00.0": GPU for bus in (0x18, 0x2A, 0x3A, 0x5D, 0x9A, 0xAB, 0xBA, 0xDB)},
    **{f"0000:{bus:02x}:00.0": NVSWITCH for bus in (0x05, 0x06, 0x07, 0x08)},
}
# The VPD of a switch management port names SW_MNG among its keywords (binary around it).
B200 = {
    "0000:1b:00.0": GPU,
    "0000:43:00.0": GPU,
    "0000:c1:00.0": (*CX7, b"\x82\x10ConnectX-7 NVLink\x90\x20SN=MT2400XZ0001;SW_MNG\x78\x00"),
    "0000:c2:00.0": (*CX7, b"\x82\x0cConnectX-7 NIC\x90\x10SN=MT2400XZ0002\x78\x00"),
}
ONE_GPU_VM = {"0000:00:06.0": ("0x10de", "0x030200", "0x2335"), "0000:00:06.1": AUDIO}

CASES = {
    # case: (sysfs tree, host variables)
    "h100_distro": (H100, {}),
    "h100_cuda_unpinned": (H100, {"nvidia_driver_repo": "cuda", "nvidia_driver_branch": "570"}),
    "h100_cuda": (
        H100,
        {"nvidia_driver_repo": "cuda", "nvidia_driver_branch": "570", "nvidia_driver_package_version": "570.133.20"},
    ),
    "h100_opted_out": (
        H100,
        {"nvidia_driver_repo": "cuda", "nvidia_driver_branch": "570", "nvidia_driver_fabricmanager": False},
    ),
    "b200_cuda": (
        B200,
        {
            "nvidia_driver_repo": "cuda",
            "nvidia_driver_branch": "580",
            "nvidia_driver_package_version": "580.95.05",
            "nvidia_driver_kernel_module": "open",
        },
    ),
    "b200_old_branch": (
        B200,
        {"nvidia_driver_repo": "cuda", "nvidia_driver_branch": "550", "nvidia_driver_package_version": "550.163.01"},
    ),
    "one_gpu_vm": (ONE_GPU_VM, {}),
    # A golden image for HGX nodes, built on a machine without NVSwitches (or GPUs).
    "golden_image": (
        {},
        {
            "nvidia_driver_require_gpu": False,
            "nvidia_driver_fabricmanager": True,
            "nvidia_driver_repo": "cuda",
            "nvidia_driver_branch": "570",
            "nvidia_driver_package_version": "570.133.20",
        },
    ),
    "bad_setting": (ONE_GPU_VM, {"nvidia_driver_fabricmanager": "sometimes"}),
}

PLAY = """- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: gpufleet.triton.nvidia_driver
        tasks_from: preflight.yml
    - ansible.builtin.debug:
        msg:
          nvswitches: "{{ nvidia_driver_nvswitches }}"
          nvlink5_ports: "{{ nvidia_driver_nvlink5_ports | map(attribute='pci_address') | list }}"
          gpus: "{{ nvidia_driver_gpus | length }}"
          needed: "{{ nvidia_driver_fabricmanager_needed }}"
          selection: "{{ __nvidia_driver_selection }}"
"""


@pytest.fixture(scope="module")
def results(ansible_bin, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nvswitch")
    hosts = {}
    for case, (tree, hostvars) in CASES.items():
        pci = tmp / case / "pci"
        pci.mkdir(parents=True)
        for address, (vendor, klass, device, *vpd) in tree.items():
            folder = pci / address
            folder.mkdir()
            for name, value in (("vendor", vendor), ("class", klass), ("device", device)):
                (folder / name).write_text(value + "\n")
            if vpd:
                (folder / "vpd").write_bytes(vpd[0])
        # No driver is loaded on this host: no module version file.
        hosts[case] = {"nvidia_driver_pci_devices_path": str(pci), "case_module": str(tmp / case / "no-module"),
                       "case_marker": str(tmp / case / "no-marker"), **hostvars}  # fmt: skip
    paths = {"__nvidia_driver_loaded_version_path": "{{ case_module }}",
             "__nvidia_driver_reboot_marker_path": "{{ case_marker }}"}  # fmt: skip
    report = run_cases(ansible_bin, tmp, PLAY, hosts, "-e", json.dumps(paths))
    out = {}
    for task in report["plays"][0]["tasks"]:
        for host, res in task["hosts"].items():
            if res.get("failed"):
                out[host] = (True, " ".join(str(res.get("msg", "")).split()))
            elif task["task"]["name"] == "ansible.builtin.debug" and host not in out:
                out[host] = (False, res["msg"])
    return out


def facts(results, case):
    failed, found = results[case]
    assert not failed, found
    return found


def test_an_hgx_h100_board_has_nvswitches_and_gets_the_fabric_manager_at_the_drivers_version(results):
    found = facts(results, "h100_cuda")
    assert int(found["gpus"]) == 8
    assert [s["pci_address"] for s in found["nvswitches"]] == ["0000:05:00.0", "0000:06:00.0", "0000:07:00.0",
                                                               "0000:08:00.0"]  # fmt: skip
    assert found["nvswitches"][0] == {"pci_address": "0000:05:00.0", "pci_class": "0x068000", "pci_device_id": "0x22a3"}
    assert found["needed"] is True
    sel = found["selection"]
    assert sel["packages"][:3] == [
        "cuda-drivers-570=570.133.20*",
        "nvidia-fabricmanager-570=570.133.20*",
        "libnvidia-nscq-570=570.133.20*",
    ]
    assert {"cuda-drivers-570", "nvidia-fabricmanager-570", "libnvidia-nscq-570"} <= set(sel["hold"])
    assert sel["fabricmanager_package"] == "nvidia-fabricmanager-570"


def test_debians_own_repository_is_refused_on_an_nvswitch_host(results):
    failed, msg = results["h100_distro"]
    assert failed
    assert "Debian does not package" in msg and "nvidia_driver_repo=distro" in msg
    assert "nvidia_driver_repo=cuda (NVIDIA's CUDA repository, or a mirror of it) or local (NVIDIA's driver" in msg


def test_an_nvswitch_host_needs_the_exact_driver_version(results):
    failed, msg = results["h100_cuda_unpinned"]
    assert failed and msg.startswith("nvidia_driver_package_version is empty on a host with NVSwitches"), msg


def test_the_fabric_manager_can_be_left_out(results):
    found = facts(results, "h100_opted_out")
    assert found["needed"] is False and len(found["nvswitches"]) == 4
    assert found["selection"]["fabricmanager_package"] == ""
    assert not [p for p in found["selection"]["packages"] if "fabric" in p]


def test_an_hgx_b200_is_found_by_its_switch_management_port_and_gets_nvlsm(results):
    found = facts(results, "b200_cuda")
    assert found["nvswitches"] == [] and found["nvlink5_ports"] == ["0000:c1:00.0"]
    assert found["needed"] is True
    assert found["selection"]["packages"] == [
        "nvidia-open-580=580.95.05*",
        "nvidia-fabricmanager=580.95.05*",
        "libnvidia-nscq=580.95.05*",
        "nvlsm",
        "infiniband-diags",
    ]


def test_an_nvlink5_system_below_branch_570_is_refused(results):
    failed, msg = results["b200_old_branch"]
    assert failed and "nvidia_driver_branch=550: NVLink5 switch systems (HGX B200/B300) need branch 570" in msg


def test_a_one_gpu_vm_has_no_nvswitch_and_needs_no_fabric_manager(results):
    found = facts(results, "one_gpu_vm")
    assert (int(found["gpus"]), found["nvswitches"], found["nvlink5_ports"], found["needed"]) == (1, [], [], False)
    assert found["selection"]["fabricmanager_package"] == ""


def test_a_golden_image_can_ask_for_the_fabric_manager(results):
    found = facts(results, "golden_image")
    assert int(found["gpus"]) == 0 and found["needed"] is True
    assert "nvidia-fabricmanager-570=570.133.20*" in found["selection"]["packages"]


def test_a_setting_other_than_auto_true_false_is_refused(results):
    failed, msg = results["bad_setting"]
    assert failed
    assert msg == "nvidia_driver_fabricmanager must be auto (install it where NVSwitches are found), true or false; " \
        "got sometimes."  # fmt: skip
