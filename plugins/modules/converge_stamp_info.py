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
    inputs digest equals O(digest), the stamp is at most O(max_age) old, and a snapshot taken now equals the recorded
    one (files, services, packages, images, the NVIDIA kernel module, Triton's health and models). Otherwise
    RV(reasons) says what differs.
  - A stamp that is not exactly as M(gpufleet.triton.converge_stamp) writes it (not JSON, another type where a list
    or a number belongs, a relative path, a URL other than C(http://) or C(https://)) never counts as converged, and
    nothing it lists is looked at.
  - C(playbooks/site.yml) uses it to leave out of the rollout the nodes that need nothing, which makes a no-change run
    over a fleet cost one module call per node instead of one per task.
author:
  - gpufleet.triton maintainers (@gpufleet)
extends_documentation_fragment:
  - gpufleet.triton.attributes.info_module
  - gpufleet.triton.converge_stamp
options:
  max_age:
    description:
      - A stamp older than this (by this node's clock) never counts as converged, whatever the snapshot says, so that
        every node goes through every role at least this often (drift the snapshot cannot see is then repaired too).
      - A whole number of seconds, or a duration made of whole numbers with the units V(s), V(m), V(h), V(d), V(w),
        such as V(12h), V(1d) or V(1d12h). V(0) makes every stamp too old.
      - A stamp dated more than 5 minutes ahead of this node's clock counts as too old as well.
    type: raw
    default: 1d
seealso:
  - module: gpufleet.triton.converge_stamp
"""

EXAMPLES = r"""
- name: Compare the node with its last complete run
  gpufleet.triton.converge_stamp_info:
    digest: "{{ lookup('gpufleet.triton.converge_digest') }}"
    max_age: 12h
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
converged_at:
  description: When the stamp was written (seconds since the epoch, UTC).
  returned: when there is a stamp in this format
  type: float
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpufleet.triton.plugins.module_utils._converge_stamp import (
    COMMON_ARGS,
    age_reason,
    differences,
    digest_problem,
    duration_seconds,
    read_stamp,
    recorded_spec,
    snapshot,
    stamp_path_problem,
    timeout_problem,
)


def assess(path, digest, max_age, timeout, remember=True):
    """{converged, reasons, converged_at}: the stamp at path against this run's digest, max_age and a snapshot."""
    stamp, reason = read_stamp(path)
    if stamp is None:
        return dict(converged=False, reasons=[reason])
    written = dict(converged_at=stamp.get("converged_at"))
    if stamp.get("digest") != digest:
        reason = (
            "the inputs changed since the last complete run (variables, facts, the collection's code or the "
            "controller's model repository)"
        )
        return dict(written, converged=False, reasons=[reason])
    too_old = age_reason(stamp, max_age)
    if too_old:
        return dict(written, converged=False, reasons=[too_old])
    now = snapshot(recorded_spec(stamp), timeout=timeout, remember=remember, exclude=(path,))
    reasons = differences(stamp.get("snapshot") or {}, now)
    return dict(written, converged=not reasons, reasons=reasons)


def main():
    module = AnsibleModule(
        argument_spec=dict(COMMON_ARGS, max_age=dict(type="raw", default="1d")),
        supports_check_mode=True,
    )
    params = module.params
    try:
        max_age = duration_seconds(params["max_age"])
    except ValueError as exc:
        module.fail_json(msg="max_age: %s" % exc)
    problem = (
        stamp_path_problem(params["path"], writing=False)
        or digest_problem(params["digest"])
        or timeout_problem(params["timeout"])
    )
    if problem:
        module.fail_json(msg=problem)
    result = assess(params["path"], params["digest"], max_age, params["timeout"], remember=not module.check_mode)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
