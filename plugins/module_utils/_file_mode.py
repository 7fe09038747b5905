# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""File modes and attributes as a task gives them, checked before anything is sent or touched (verified_copy: its
action plugin on the controller, its module on the node).

AnsibleModule applies them only once the file is in place, and takes some it should not: V(-1) (chmod(-1) gives
07777), an int above 0o7777 (an OverflowError, a traceback). A bad value found then leaves the new file in place with
the wrong mode and the task failed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.common.file import FILE_ATTRIBUTES

MAX_MODE = 0o7777
_OCTAL = re.compile(r"(?:0o)?[0-7]+\Z")
_DIRECTORY_OCTAL = re.compile(r"0?[0-7]{3,4}\Z")  # what directory_mode has always documented: '0750'
_SYMBOLIC = re.compile(r"[ugoa]*(?:[-+=](?:[rwxXst]*|[ugo]))+\Z")
# AnsibleModule takes a + or - before the flags, no other operator ('=i' becomes chattr's '==i', which fails)
_ATTRIBUTES = re.compile(r"(?:[-+]?[%s]+)?\Z" % re.escape("".join(FILE_ATTRIBUTES)))

MODE_EXPECTED = "an octal mode such as '0640' (at most 07777) or a symbolic one such as 'u=rw,g=r'"
DIRECTORY_MODE_EXPECTED = "an octal mode such as '0750'"


def _int_mode(value):
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_MODE


def mode_ok(value):
    """Whether value is a file mode chmod can take: an int from 0 to 0o7777, its octal digits, or a symbolic mode."""
    if isinstance(value, str):
        if _OCTAL.match(value):
            return int(value, 8) <= MAX_MODE
        return all(_SYMBOLIC.match(clause) for clause in value.split(","))
    return _int_mode(value)


def directory_mode_ok(value):
    """Whether value is an octal mode: an int from 0 to 0o7777, or 3 or 4 octal digits after an optional 0."""
    if isinstance(value, str):
        return bool(_DIRECTORY_OCTAL.match(value))
    return _int_mode(value)


def attributes_ok(value):
    """Whether value is a chattr flag string: known flag letters after an optional + or -, or nothing."""
    return isinstance(value, str) and bool(_ATTRIBUTES.match(value))
