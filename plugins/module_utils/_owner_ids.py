# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Owner and group names (or numeric ids) as ids on the node, for the verified_copy module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import pwd
import re

# chown takes ids up to 2**32 - 1, which means "leave unchanged"; a larger one is an OverflowError, not an OSError.
MAX_ID = 2**32 - 2
# ASCII digits only: str.isdigit() also takes '²' (which int() refuses) and '٣' (which int() reads as 3).
_DIGITS = re.compile(r"[0-9]+\Z")
EXPECTED = "a name that exists on the node or a numeric id from 0 to %d" % MAX_ID


def _id(name, lookup, what):
    name = str(name)
    if _DIGITS.match(name):
        number = int(name)
        if number > MAX_ID:
            raise KeyError("%s id %s is above %d" % (what, name, MAX_ID))
        return number
    try:
        return lookup(name)
    except ValueError:  # a NUL byte, or a name the node's encoding cannot hold: no such entry
        raise KeyError("no %s %r" % (what, name)) from None


def numeric_id_ok(value):
    """False for an id no node can have: a negative number or one above MAX_ID (an int or its digits); True for
    anything else, names included, which only the node can look up (for the controller's checks)."""
    if isinstance(value, bool):
        return True  # a name, "True", to the module (a str option)
    text = str(value)
    digits = text[1:] if text.startswith("-") else text
    return not (_DIGITS.match(digits) and (text.startswith("-") or int(digits) > MAX_ID))


def user_id(name):
    """The uid of a user name or numeric id; KeyError when the node has no such user or the id is out of range."""
    return _id(name, lambda n: pwd.getpwnam(n).pw_uid, "user")


def group_id(name):
    """The gid of a group name or numeric id; KeyError when the node has no such group or the id is out of range."""
    return _id(name, lambda n: grp.getgrnam(n).gr_gid, "group")
