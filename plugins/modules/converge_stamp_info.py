#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: converge_stamp_info
short_description: Tell whether a node is still exactly as the last complete run left it
version_added: 0.1.0
description:
  - Reads the stamp written by M(gpufleet.triton.converge_stamp) and returns RV(converged) true only when the stamp's
    inputs digest equals O(digest) and a snapshot taken now equals the recorded one (files, services, packages,
    images, the NVIDIA kernel module, Triton's health and models). Otherwise RV(reasons) says what differs.
  - C(playbooks/site.yml) uses it to end the play early for nodes that need nothing, which makes a no-change run over
    a fleet cost one module call per node instead of one per task.
author:
  - gpufleet.triton maintainers (@gpufleet)
extends_documentation_fragment:
  - gpufleet.triton.converge_stamp
attributes:
  check_mode:
    support: full
    description: Read-only; runs normally in check mode.
  diff_mode:
    support: none
    description: Read-only.
seealso:
  - module: gpufleet.triton.converge_stamp
"""

EXAMPLES = r"""
- name: Compare the node with its last complete run
  gpufleet.triton.converge_stamp_info:
    digest: "{{ lookup('gpufleet.triton.converge_digest') }}"
  register: stamp

- name: End the play for a node that needs nothing
  ansible.builtin.meta: end_host
  when: stamp.converged
"""

RETURN = r"""
converged:
  description: Whether the inputs and the node are as the stamp recorded them.
  returned: always
  type: bool
reasons:
  description: Why the node is not converged (empty when it is).
  returned: always
  type: list
  elements: str
  sample: ["path /etc/docker/daemon.json: file 5d41... 0:0 0644, was file 9b2c... 0:0 0644"]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpufleet.triton.plugins.module_utils._converge_stamp import (
    COMMON_ARGS,
    differences,
    read_stamp,
    snapshot,
    spec_of,
)


def assess(path, digest, timeout, remember=True):
    stamp, reason = read_stamp(path)
    if stamp is None:
        return dict(converged=False, reasons=[reason])
    if stamp.get("digest") != digest:
        return dict(
            converged=False,
            reasons=[
                "the inputs changed since the last complete run (variables, facts, "
                "the collection's code or the controller's model repository)"
            ],
        )
    reasons = differences(stamp.get("snapshot") or {}, snapshot(spec_of(stamp), timeout=timeout, remember=remember))
    return dict(converged=not reasons, reasons=reasons)


def main():
    module = AnsibleModule(
        argument_spec=dict(COMMON_ARGS),
        supports_check_mode=True,
    )
    params = module.params
    module.exit_json(
        changed=False, **assess(params["path"], params["digest"], params["timeout"], remember=not module.check_mode)
    )


if __name__ == "__main__":
    main()
