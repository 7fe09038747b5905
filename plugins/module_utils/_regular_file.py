# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading a file that must be a regular one: a read of a FIFO waits for a writer forever, a device may never end,
a folder has no bytes. Every module that reads a file a user or another run may have replaced reads it here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat


def read_regular(path, limit=-1):
    """The bytes of the regular file at path (links followed; at most limit bytes). Raises OSError for anything else,
    its message naming what is there ("a FIFO, not a regular file")."""
    # O_NONBLOCK: opening a FIFO for reading would itself wait for a writer.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    # checked before the file object is made: Python's own refusal of a folder names the descriptor, not the path
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError("%s, not a regular file" % _kind(mode))
    except OSError:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as handle:
        return handle.read(limit)


def _kind(mode):
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a socket" if stat.S_ISSOCK(mode) else "a special file"
