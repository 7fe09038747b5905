# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading a file on the node while the connection is still writing it (verified_copy, model_stage).

The action plugin sends the file and, at the same time, runs the module, which reads the bytes as they arrive: the
work on them (a hash, an unpack) ends about when the last byte lands instead of starting then. A reading taken this
way is trusted only when it checks out; anything else leads the action plugin to let the module read the finished
file once more.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import os
import time

# Made next to a file being received once its transfer ended: ".sent" when the connection reported success,
# ".aborted" when it failed (the reader then stops waiting for bytes).
SENT_SUFFIX = ".sent"
ABORT_SUFFIX = ".aborted"
CHUNK = 4 * 1024 * 1024
# The internal options the action plugin sets (doc_fragments/arriving.py documents them).
ARRIVING_ARGS = dict(_follow=dict(type="bool", default=False), _stall_timeout=dict(type="int", default=300))


class ArrivalError(Exception):
    """The bytes stopped arriving (a failed or stalled transfer) or more arrived than were sent."""


class ArrivingFile(object):
    """A file another process writes front to back, read as its bytes arrive; `size` bytes in all.

    read() waits for bytes that have not arrived yet and gives b"" once `size` bytes were read. It raises
    ArrivalError when the abort marker appears, when nothing new arrives for `stall_seconds`, or when the file grows
    past `size`.
    """

    def __init__(self, path, size, stall_seconds, poll=0.02):
        self.path = path
        self.size = size
        self.stall_seconds = stall_seconds
        self.poll = poll
        self.pos = 0
        self.handle = None
        self.last = time.monotonic()

    def _open(self):
        if self.handle is None:
            try:
                self.handle = open(self.path, "rb", buffering=0)
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise
        return self.handle

    def read(self, n=-1):
        want = self.size - self.pos if n is None or n < 0 else min(n, self.size - self.pos)
        while True:
            handle = self._open()
            if handle is not None:
                if want <= 0:
                    if os.fstat(handle.fileno()).st_size > self.size:
                        raise ArrivalError("more than %d bytes arrived" % self.size)
                    return b""
                data = handle.read(want)
                if data:
                    self.pos += len(data)
                    self.last = time.monotonic()
                    return data
            if os.path.exists(self.path + ABORT_SUFFIX):
                raise ArrivalError("the transfer stopped after %d of %d bytes" % (self.pos, self.size))
            if time.monotonic() - self.last > self.stall_seconds:
                raise ArrivalError(
                    "nothing arrived for %d s after %d of %d bytes" % (self.stall_seconds, self.pos, self.size)
                )
            time.sleep(self.poll)

    def wait_sent(self):
        """Once `size` bytes were read: wait until the transfer has ended, and check it wrote no more than that.

        A writer still appending after the reader's last byte would otherwise change a file already judged.
        """
        while not os.path.exists(self.path + SENT_SUFFIX):
            if os.path.exists(self.path + ABORT_SUFFIX):
                raise ArrivalError("the transfer failed after the last of %d bytes" % self.size)
            if time.monotonic() - self.last > self.stall_seconds:
                raise ArrivalError("the transfer did not end within %d s of its last byte" % self.stall_seconds)
            time.sleep(self.poll)
        if os.stat(self.path).st_size != self.size:
            raise ArrivalError("more than %d bytes arrived" % self.size)

    def close(self):
        if self.handle is not None:
            self.handle.close()
            self.handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def sha256_while_arriving(path, size, stall_seconds, poll=0.02):
    """(sha256, None) of the `size` bytes written to path, read as they arrive, once the transfer has ended;
    (None, reason) when they stop arriving or more arrive (ArrivingFile)."""
    digest = hashlib.sha256()
    try:
        with ArrivingFile(path, size, stall_seconds, poll) as arriving:
            while True:
                chunk = arriving.read(CHUNK)
                if not chunk:
                    arriving.wait_sent()
                    return digest.hexdigest(), None
                digest.update(chunk)
    except ArrivalError as exc:
        return None, str(exc)
