# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One sha256 for a folder of files, and one per model folder of a model repository.

The same code digests the controller's model repository and the node's live one, so that equal digests mean equal
files. A folder's digest covers each file's path relative to the folder and its contents, not modes, owners, times,
empty folders or compiled Python (``__pycache__``, which Python writes beside the code it imports): what Triton reads.
The converge_digest lookup digests the collection's own code and the controller's model repository with it
too. Links are followed, as triton_server's staging archive (tar --dereference) holds what they point to; a
link to a folder already on the path (a loop) is skipped.

Digest: sha256 over, for each file in the order of its relative path's bytes, ``<sha256 of the contents in hex> SP
<relative path, UTF-8 with surrogateescape> NUL``. A file's contents' sha256 comes from the record
_file_digest keeps on the file when that record still holds, else it is read (and, for a file of 1 MiB or more,
recorded, so that a large model file is read once while it is unchanged).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os

from ansible_collections.gpufleet.triton.plugins.module_utils._file_digest import file_sha256

REMEMBER_FROM = 1024 * 1024  # bytes: smaller files are hashed faster than their record is written


def _files(folder):
    """(relative path as bytes, absolute path) of each file under folder, links followed, loops skipped: a link to a
    folder already walked, or to a folder above the tree (``up -> ..``, ``-> /``: else everything beside the tree)."""
    found = []
    top = os.fsencode(folder)
    top_real = os.path.realpath(top)
    seen = set()
    for current, dirs, files in os.walk(top, followlinks=True):
        real = os.path.realpath(current)
        if real in seen or (current != top and top_real.startswith(real.rstrip(b"/") + b"/")):
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = [name for name in dirs if name != b"__pycache__"]
        for name in files:
            path = os.path.join(current, name)
            if os.path.isfile(path):
                found.append((os.path.relpath(path, top), path))
    found.sort()
    return found


def tree_digest(root):
    """sha256 (hex) of the files under root: their paths relative to root and their contents."""
    digest = hashlib.sha256()
    for rel, path in _files(root):
        file_digest = file_sha256(path, remember=os.path.getsize(path) >= REMEMBER_FROM)[0]
        digest.update(file_digest.encode("ascii") + b" " + rel + b"\0")
    return digest.hexdigest()


def model_names(root):
    """The models of a repository: its folders, not hidden, not links, sorted."""
    try:
        entries = os.listdir(root)
    except FileNotFoundError:
        return []
    return sorted(
        name
        for name in entries
        if not name.startswith(".") and os.path.isdir(os.path.join(root, name))
        and not os.path.islink(os.path.join(root, name))
    )  # fmt: skip


def model_digests(root, names=None):
    """{model: sha256 hex} for the named models of root (every model, as model_names finds them, when names is None).
    A named model that root lacks (or that is not a folder) maps to None."""
    if names is None:
        names = model_names(root)
    return {
        name: tree_digest(os.path.join(root, name)) if os.path.isdir(os.path.join(root, name)) else None
        for name in names
    }
