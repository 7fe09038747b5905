# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: nvidia_driver_smi_gpus
short_description: The GPUs of nvidia-smi's CSV query output, matched to the PCI bus entries found in sysfs
version_added: 0.1.0
description:
  - Reads the output of C(nvidia-smi --query-gpu=index,name,uuid,pci.bus_id,driver_version,memory.total
    --format=csv,nounits) by the field names of its header line (the order of the fields does not matter; fields not
    queried are absent from the result).
  - Each GPU gets sysfs's form of its PCI address as C(pci_address) (nvidia-smi writes the domain with 8 digits in
    capitals, V(00000000:3B:00.0); sysfs with at least 4 in lower case, V(0000:3b:00.0); a VMD domain is
    V(10000:...)), and the C(pci_class) and C(pci_device_id) of the sysfs entry at that address.
  - Fails (AnsibleFilterError, naming what it found and what it expected) on output nvidia-smi does not write, such
    as a field it does not know or one named twice in the header, a line with another number of values than the
    header, a number that is not ASCII digits or text that is not CSV; and on O(pci_gpus) that is not a list of dicts.
author:
  - gpufleet.triton maintainers
options:
  _input:
    description: nvidia-smi's CSV output, its header line first.
    type: str
    required: true
  pci_gpus:
    description: The GPUs found in sysfs, each with C(pci_address), C(pci_class) and C(pci_device_id).
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
- name: Record the GPUs
  ansible.builtin.set_fact:
    gpus: "{{ smi.stdout | gpufleet.triton.nvidia_driver_smi_gpus(pci_gpus=pci_gpus) }}"
"""

RETURN = r"""
_value:
  description:
    - One dict per GPU with C(index) (int), C(name), C(uuid), C(pci_bus_id), C(driver_version), C(memory_total_mib)
      (int) as far as queried, C(pci_address), and C(pci_class) and C(pci_device_id) when sysfs has the address.
  type: list
  elements: dict
"""

import csv
import re

from ansible.errors import AnsibleFilterError

_NUMBER = re.compile(r"[0-9]{1,18}\Z")  # what nvidia-smi writes: ASCII digits (int() also takes '1_000', '٣', ' -1')


def _number(value):
    if not _NUMBER.match(value):
        raise ValueError(value)
    return int(value)


# nvidia-smi's field name -> (key in the result, conversion).
FIELDS = {
    "index": ("index", _number),
    "name": ("name", str),
    "uuid": ("uuid", str),
    "pci.bus_id": ("pci_bus_id", str),
    "driver_version": ("driver_version", str),
    "memory.total": ("memory_total_mib", _number),
}


def sysfs_address(bus_id):
    """nvidia-smi's PCI bus id (00000000:3B:00.0) in sysfs's form (0000:3b:00.0)."""
    domain, sep, rest = bus_id.partition(":")
    if not sep:
        return bus_id.lower()
    try:
        return "%04x:%s" % (int(domain, 16), rest.lower())
    except ValueError:
        return bus_id.lower()


def _fail(msg):
    raise AnsibleFilterError("nvidia_driver_smi_gpus: " + msg)


def _sysfs_gpus(pci_gpus):
    """{pci_address: entry} of pci_gpus, which must be a list of dicts each with a pci_address string."""
    if pci_gpus is None:
        return {}
    if not isinstance(pci_gpus, list) or not all(
        isinstance(gpu, dict) and isinstance(gpu.get("pci_address"), str) for gpu in pci_gpus
    ):
        _fail("pci_gpus must be a list of dicts, each with a pci_address string, got %r" % (pci_gpus,))
    return dict((gpu["pci_address"], gpu) for gpu in pci_gpus)


def _rows(text):
    """The CSV's rows, blank ones left out."""
    if not isinstance(text, str):
        _fail("expected nvidia-smi's CSV output (a string), got %s" % type(text).__name__)
    try:
        rows = list(csv.reader(text.splitlines(), skipinitialspace=True, strict=True))
    except csv.Error as exc:  # a field over csv's size limit, a quote left open
        _fail("expected nvidia-smi's CSV output, which this is not: %s" % exc)
    return [row for row in rows if any(field.strip() for field in row)]


def nvidia_driver_smi_gpus(text, pci_gpus=None):
    by_address = _sysfs_gpus(pci_gpus)
    rows = _rows(text)
    if not rows:
        return []
    # With nounits the header still names the unit: "memory.total [MiB]".
    header = [re.sub(r"\s*\[[^]]*\]$", "", name.strip()) for name in rows[0]]
    unknown = [name for name in header if name not in FIELDS]
    if unknown:
        _fail("unknown nvidia-smi fields %s in the header %s" % (unknown, rows[0]))
    twice = sorted(set(name for name in header if header.count(name) > 1))
    if twice:
        _fail("the fields %s appear twice in the header %s" % (twice, rows[0]))
    gpus = []
    for row in rows[1:]:
        if len(row) != len(header):
            _fail("%d values for the %d fields %s: %s" % (len(row), len(header), header, row))
        gpu = {}
        for name, value in zip(header, row):
            key, convert = FIELDS[name]
            try:
                gpu[key] = convert(value.strip())
            except ValueError:
                _fail("%s is %r, not a number (expected ASCII digits)" % (name, value[:40]))
        if "pci_bus_id" in gpu:
            address = sysfs_address(gpu["pci_bus_id"])
            merged = dict(by_address.get(address, {}))
            merged.update(gpu)
            merged["pci_address"] = address
            gpu = merged
        gpus.append(gpu)
    return gpus


class FilterModule(object):
    def filters(self):
        return {"nvidia_driver_smi_gpus": nvidia_driver_smi_gpus}
