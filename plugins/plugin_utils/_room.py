# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Room on the node for a file before verified_copy sends it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleActionFail

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
