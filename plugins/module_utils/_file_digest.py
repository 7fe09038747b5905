# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sha256 of files on a node, remembered in an extended attribute while the file is unchanged.

Multi-gigabyte files (image tarballs, model weights) are read once; later runs trust the recorded digest while the
file's size, modification time and inode are those recorded with it (rsync's quick check). Setting the attribute
changes the file's ctime but not those three, so the record stays valid.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re

XATTR = "user.gpufleet.sha256"
CHUNK = 4 * 1024 * 1024
_HEX64 = re.compile(r"[0-9a-fA-F]{64}\Z")
_HEXDIGEST = re.compile(r"[0-9a-f]{64}\Z")  # hashlib's hexdigest(), what remember_sha256 records


def is_sha256(value):
    """Whether value is a sha256 in hexadecimal: 64 digits, either case."""
    return isinstance(value, str) and bool(_HEX64.match(value))


def sha256_of(path):
    digest = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as handle:
        while True:
            read = handle.readinto(buf)
            if not read:
                return digest.hexdigest()
            digest.update(view[:read])


def _record(st):
    return "%d %d %d" % (st.st_size, st.st_mtime_ns, st.st_ino)


def cached_sha256(path, st=None):
    """The digest recorded on the file when it still matches the file, else None."""
    if not hasattr(os, "getxattr"):
        return None
    st = st or os.stat(path)
    try:
        digest, record = os.getxattr(path, XATTR).decode("ascii").split(" ", 1)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    # a record written by hand or by another tool is not a digest to compare with
    return digest if record == _record(st) and _HEXDIGEST.match(digest) else None


def remember_sha256(path, digest):
    """Record the digest on the file; False where the file system has no user extended attributes."""
    if not hasattr(os, "setxattr"):
        return False
    try:
        os.setxattr(path, XATTR, ("%s %s" % (digest, _record(os.stat(path)))).encode("ascii"))
        return True
    except OSError:
        return False


def file_sha256(path, use_cache=True, remember=True):
    """(sha256, from_cache) of a regular file."""
    if use_cache:
        cached = cached_sha256(path)
        if cached:
            return cached, True
    digest = sha256_of(path)
    if use_cache and remember:
        remember_sha256(path, digest)
    return digest, False
