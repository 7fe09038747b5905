#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: warn
short_description: Show a warning, as Ansible shows its own, and go on
version_added: 0.1.0
description:
  - Adds O(msg) to the task's C(warnings), which Ansible prints as C([WARNING]) (and a callback records), where
    M(ansible.builtin.debug) would print an ordinary message among the others. The task never fails and never
    changes anything; it runs on the controller and does not contact the node.
  - For a check that found something an operator should see but that must not stop the run, for example a Triton
    image that the driver table of gpufleet.triton.nvidia_driver does not know.
author:
  - gpufleet.triton maintainers (@gpufleet)
attributes:
  action:
    support: full
    description: All of it is done by the action plugin of the same name, on the controller.
  async:
    support: none
    description: Not supported.
  check_mode:
    support: full
    description: Warns in check mode too; it changes nothing in any mode.
  diff_mode:
    support: none
    description: Nothing to show.
  platform:
    support: full
    platforms: all
    description: Runs on the controller only.
options:
  msg:
    description:
      - The warning, one non-empty string (leading and trailing white space is dropped).
      - Anything else fails the task naming O(msg) and what it got.
    type: str
    required: true
seealso:
  - module: ansible.builtin.debug
  - module: ansible.builtin.assert
"""

EXAMPLES = r"""
- name: Warn about a Triton image the driver table does not know
  gpufleet.triton.warn:
    msg: "{{ inventory_hostname }}: {{ req.warning }}"
  when: req.warning | length > 0
"""

RETURN = r"""
msg:
  description: The warning as shown.
  returned: always
  type: str
  sample: "node1: the table does not know release 26.10"
"""
