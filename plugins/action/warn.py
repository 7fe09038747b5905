# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


def warning_of(args):
    """The warning the task's arguments ask for; AnsibleActionFail naming what is wrong with them."""
    if not isinstance(args, dict):
        raise AnsibleActionFail("warn takes msg (the warning), got %r" % (args,))
    unknown = sorted(repr(key) for key in args if key != "msg")
    if unknown:
        raise AnsibleActionFail("warn takes only msg (the warning), got also %s" % ", ".join(unknown))
    msg = args.get("msg")
    if not isinstance(msg, str) or not msg.strip():
        raise AnsibleActionFail("msg must be the warning, a non-empty string, got %r" % (msg,))
    return msg.strip()


class ActionModule(ActionBase):
    """gpufleet.triton.warn: msg becomes one of the task's warnings (modules/warn.py documents it)."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        msg = warning_of(self._task.args)
        result.update(changed=False, msg=msg)
        result.setdefault("warnings", []).append(msg)
        return result
