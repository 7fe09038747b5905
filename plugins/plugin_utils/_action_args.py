# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Task arguments of this collection's action plugins that send controller files (verified_copy)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.parsing.convert_bool import boolean


def task_args(action, internal, required):
    """A copy of the task's arguments; fails when the task sets an internal one or lacks a required one."""
    args = dict(action._task.args)
    for name in internal:
        if name in args:
            raise AnsibleActionFail("%s is set by the action plugin, not by the task" % name)
    missing = [name for name in required if args.get(name) in (None, "")]
    if missing:
        raise AnsibleActionFail("%s %s required" % (" and ".join(missing), "is" if len(missing) == 1 else "are"))
    return args


def controller_path(action, src):
    """src on the controller, a relative path searched in the role's or play's files folder."""
    if not isinstance(src, str):
        raise AnsibleActionFail("src must be a path on the controller (a string), got %r" % (src,))
    try:
        return action._find_needle("files", os.path.expanduser(src))
    except AnsibleError as exc:
        raise AnsibleActionFail("src %s was not found on the controller: %s" % (src, exc)) from exc


def task_bool(args, name, default):
    """A boolean task argument, read before anything is sent; a value that is not one fails naming the option."""
    value = args.get(name, default)
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise AnsibleActionFail("%s must be a boolean, got %r" % (name, value)) from None
