"""The filter that reads nvidia-smi's CSV (--format=csv,nounits) by its header's field names, for nvidia_driver's
verify.yml; the role-level cases (sysfs matching with real ansible-playbook) are in test_nvidia_driver_verify.py."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.gpufleet.triton.plugins.filter.nvidia_driver_smi_gpus import nvidia_driver_smi_gpus

HEADER = "index, name, uuid, pci.bus_id, driver_version, memory.total [MiB]"
H200 = "0, NVIDIA H200, GPU-668481c4-e9a6-cae6-1a4f-5aead29c6931, 00000000:00:06.0, 580.159.04, 143771"


def test_fields_are_read_by_name_whatever_their_order():
    text = "memory.total [MiB], pci.bus_id, index\n143771, 00000000:3B:00.0, 1\n"
    assert nvidia_driver_smi_gpus(text) == [
        {"memory_total_mib": 143771, "pci_bus_id": "00000000:3B:00.0", "index": 1, "pci_address": "0000:3b:00.0"}
    ]


def test_a_gpu_takes_its_sysfs_entry():
    pci = [{"pci_address": "0000:00:06.0", "pci_class": "0x030200", "pci_device_id": "0x2335"}]
    (gpu,) = nvidia_driver_smi_gpus(HEADER + "\n" + H200 + "\n", pci_gpus=pci)
    assert gpu["pci_class"] == "0x030200" and gpu["driver_version"] == "580.159.04" and gpu["index"] == 0


def test_a_name_with_a_comma_is_one_field():
    line = '0, "NVIDIA H200, NVL", GPU-1, 00000000:00:06.0, 580.159.04, 143771'
    assert nvidia_driver_smi_gpus(HEADER + "\n" + line)[0]["name"] == "NVIDIA H200, NVL"


def test_no_output_is_no_gpu():
    assert nvidia_driver_smi_gpus("") == []


@pytest.mark.parametrize(
    "text",
    [
        "index, fan.speed [%]\n0, 30\n",  # a field the filter does not know
        HEADER + "\n0, NVIDIA H200\n",  # a short line
        HEADER + "\n[N/A], NVIDIA H200, GPU-1, 00000000:00:06.0, 580.159.04, 143771\n",  # not a number
    ],
)
def test_output_it_cannot_read_fails(text):
    with pytest.raises(AnsibleFilterError):
        nvidia_driver_smi_gpus(text)
