"""nvidia_driver's driver facts (tasks/detect.yml, then tasks/verify.yml) with real ansible-playbook on this host,
over a planted sysfs tree and an nvidia-smi that prints what a real one printed (docs/gpu-check.md, an H200 host).
Each case is an inventory host: the GPUs nvidia-smi lists are matched to the PCI bus by address, whose domain the two
write differently, and a GPU on the bus that nvidia-smi does not list is named."""

from __future__ import annotations

import pytest
from _role_play import run_cases

# What a real H200 host's nvidia-smi printed for verify.yml's query (--format=csv,nounits): the header, then a line
# per GPU.
HEADER = "index, name, uuid, pci.bus_id, driver_version, memory.total [MiB]"
H200 = "0, NVIDIA H200, GPU-668481c4-e9a6-cae6-1a4f-5aead29c6931, 00000000:00:06.0, 580.159.04, 143771"
SECOND = "1, NVIDIA H200, GPU-11111111-2222-3333-4444-555555555555, 00000000:3B:00.0, 580.159.04, 143771"
GPU = ("0x10de", "0x030200", "0x2335")

CASES = {
    # case: ({sysfs address: (vendor, class, device)}, nvidia-smi's lines)
    "h200": ({"0000:00:06.0": GPU, "0000:00:01.0": ("0x8086", "0x030000", "0x1111")}, [H200]),
    "upper_case_bus": ({"0000:00:06.0": GPU, "0000:3b:00.0": GPU}, [H200, SECOND]),
    "fallen_off": ({"0000:00:06.0": GPU, "0000:3b:00.0": GPU}, [H200]),
    # Intel VMD puts devices behind it in domains past 0xffff, which sysfs writes with five digits.
    "vmd_domain": ({"10000:01:00.0": GPU}, [H200.replace("00000000:00:06.0", "00010000:01:00.0")]),
}

PLAY = """- hosts: all
  gather_facts: false
  environment:
    PATH: "{{ case_bin }}:{{ lookup('ansible.builtin.env', 'PATH') }}"
  vars:
    __nvidia_driver_pkg_mgr: apt
    __nvidia_driver_selection: {main_package: gpufleet-test-no-such-package}
    __nvidia_driver_packages_changed: false
    nvidia_driver_reboot_required: false
  tasks:
    - ansible.builtin.include_role:
        name: gpufleet.triton.nvidia_driver
        tasks_from: detect.yml
    - ansible.builtin.include_role:
        name: gpufleet.triton.nvidia_driver
        tasks_from: verify.yml
    - ansible.builtin.debug:
        msg:
          gpus: "{{ nvidia_driver_gpus }}"
          version: "{{ nvidia_driver_version }}"
          loaded: "{{ nvidia_driver_loaded }}"
"""


@pytest.fixture(scope="module")
def report(ansible_bin, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("verify")
    hosts = {}
    for case, (devices, smi) in CASES.items():
        for address, (vendor, klass, device) in devices.items():
            folder = tmp / case / "pci" / address
            folder.mkdir(parents=True)
            for name, value in (("vendor", vendor), ("class", klass), ("device", device)):
                (folder / name).write_text(value + "\n")
        fake = tmp / case / "bin" / "nvidia-smi"
        fake.parent.mkdir()
        fake.write_text("#!/bin/sh\ncat <<'EOF'\n" + "\n".join([HEADER, *smi]) + "\nEOF\n")
        fake.chmod(0o755)
        hosts[case] = {"nvidia_driver_pci_devices_path": str(tmp / case / "pci"), "case_bin": str(fake.parent)}
    return run_cases(ansible_bin, tmp, PLAY, hosts)


def outcome(report, case):
    """(failed task's message or None, the facts the last task printed or None)."""
    for task in report["plays"][0]["tasks"]:
        result = task["hosts"].get(case)
        if result and result.get("failed"):
            return result["msg"], None
    last = report["plays"][0]["tasks"][-1]["hosts"][case]
    return None, last["msg"]


def test_the_gpus_carry_the_pci_bus_entry_they_match(report):
    failure, facts = outcome(report, "h200")
    assert failure is None
    assert facts["version"] == "580.159.04" and facts["loaded"]
    assert facts["gpus"] == [
        {
            "index": 0,
            "name": "NVIDIA H200",
            "uuid": "GPU-668481c4-e9a6-cae6-1a4f-5aead29c6931",
            "pci_bus_id": "00000000:00:06.0",
            "pci_address": "0000:00:06.0",
            "pci_class": "0x030200",
            "pci_device_id": "0x2335",
            "driver_version": "580.159.04",
            "memory_total_mib": 143771,
        }
    ]


def test_an_address_in_capitals_matches_its_sysfs_entry(report):
    failure, facts = outcome(report, "upper_case_bus")
    assert failure is None
    assert [(g["index"], g["pci_address"], g.get("pci_device_id")) for g in facts["gpus"]] == [
        (0, "0000:00:06.0", "0x2335"),
        (1, "0000:3b:00.0", "0x2335"),
    ]


def test_a_gpu_nvidia_smi_does_not_list_is_named(report):
    failure, _facts = outcome(report, "fallen_off")
    assert failure == (
        "nvidia-smi lists 1 GPU(s), the PCI bus 2 (0000:00:06.0, 0000:3b:00.0): nvidia-smi does not see "
        "0000:3b:00.0 (fallen off the bus, Xid 79 in the kernel log? bound to another driver, e.g. vfio-pci?)."
    )


def test_a_domain_past_four_digits_matches(report):
    failure, facts = outcome(report, "vmd_domain")
    assert failure is None
    assert [(g["pci_address"], g.get("pci_class")) for g in facts["gpus"]] == [("10000:01:00.0", "0x030200")]
