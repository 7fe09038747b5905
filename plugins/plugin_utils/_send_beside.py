# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Sending a file while the module that reads it on the node already runs (verified_copy, model_stage).

The module reads the bytes as they arrive (module_utils/_arriving.py). When the transfer ends, a marker next to the
file says how: `.sent` or `.aborted`; the module trusts a reading only once `.sent` is there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import threading

from ansible.errors import AnsibleActionFail
from ansible.utils.display import Display
from ansible_collections.gpufleet.triton.plugins.module_utils._arriving import ABORT_SUFFIX, SENT_SUFFIX

display = Display()

# Connections whose put_file writes the file front to back, straight into its path, and whose instances can be copied
# so that a transfer and a module call run at once. docker_api is not one: the engine unpacks a tar archive, and sets
# the file's mode after its content.
FOLLOW_TRANSPORTS = frozenset(
    ("ssh", "ansible.builtin.ssh", "local", "ansible.builtin.local", "community.docker.docker")
)


def can_follow(action):
    """Whether the module may read the file while it arrives over this action's connection."""
    return action._connection.transport in FOLLOW_TRANSPORTS and not action._is_become_unprivileged()


def send_beside_module(action, src, remote, module, module_args, task_vars):
    """put_file(src, remote) on a copy of the connection while `module` runs: the module's result.

    A copy keeps each run's per-command state (the SSH plugin's escalation flags) apart; the module call alone
    escalates. A failed transfer is raised once the module has stopped waiting for the bytes.
    """
    sender = copy.copy(action._connection)
    failure = []

    def send():
        marker = SENT_SUFFIX
        try:
            sender.put_file(src, remote)
        except BaseException as exc:  # raised below, in the task's thread
            failure.append(exc)
            marker = ABORT_SUFFIX
        try:
            sender.exec_command("touch %s" % sender._shell.quote(remote + marker), sudoable=False)
        except Exception as exc:
            display.warning(
                "%s: could not mark the end of the transfer (%s); the node stops waiting for it after its stall "
                "timeout" % (remote, exc)
            )

    thread = threading.Thread(target=send, name="gpufleet-send", daemon=True)
    thread.start()
    try:
        result = action._execute_module(module, module_args=module_args, task_vars=task_vars)
    finally:
        thread.join()
    if failure:
        raise failure[0]
    return result


# Room a transfer leaves free on the file system of the node's temporary folder: a multi-GB file must not fill the
# root file system of a serving node (journald, the engine's state), where the login user's ~/.ansible/tmp usually is.
RESERVE_BYTES = 1 << 30
RESERVE_SHARE = 20  # or 1/20th of the file system, when that is less


def room_shortfall(free, total, need, what):
    """None when `need` bytes (`what`) fit in the `free` bytes of a file system of `total` bytes and leave its
    reserve; otherwise the end of the message that says so."""
    reserve = min(RESERVE_BYTES, total // RESERVE_SHARE)
    if free - need >= reserve:
        return None
    mib = 1 << 20
    return (
        "%d MiB free: %s (%d MiB) would leave less than %d MiB there (the smaller of 1 GiB and 5%% of that file "
        "system); nothing was sent" % (free // mib, what, -(-need // mib), reserve // mib)
    )


def check_room(action, src, dest, what):
    """Fail before anything is sent when the file system of the node's temporary folder cannot take src (`what`, for
    the message) and keep its reserve. A node without a POSIX df, or an answer that does not parse, is left to the
    transfer's own error."""
    folder = action._connection._shell.tmpdir
    res = action._low_level_execute_command("df -Pk %s" % action._connection._shell.quote(folder), sudoable=False)
    if res.get("rc") != 0:
        return
    try:
        fields = res.get("stdout", "").strip().splitlines()[-1].split()
        total, free, mount = int(fields[1]) * 1024, int(fields[3]) * 1024, fields[5]
    except (IndexError, ValueError):
        return
    short = room_shortfall(free, total, os.path.getsize(src), what)
    if short:
        raise AnsibleActionFail(
            "the node's temporary folder %s is on %s, which has %s. Give the connection a temporary folder with room "
            "(ansible_remote_tmp), best on the file system of %s" % (folder, mount, short, dest)
        )


def send_to_module(action, src, remote, module, args, task_vars, follow=True, what=None):
    """Send src (`what`, for messages) to remote and run `module` on it (args carry _tmp_src): beside the transfer
    where `follow` and the connection allow it, else after it. A reading taken beside the transfer that did not check
    out is followed by one more call on the finished file, which decides."""
    check_room(action, src, args.get("dest"), what or src)
    if follow and can_follow(action):
        result = send_beside_module(action, src, remote, module, dict(args, _follow=True), task_vars)
        if not result.pop("_recheck", None):
            return result
    else:
        action._transfer_file(src, remote)
        action._fixup_perms2((action._connection._shell.tmpdir, remote))
    return action._execute_module(module, module_args=args, task_vars=task_vars)
