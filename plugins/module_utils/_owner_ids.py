# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Owner and group names (or numeric ids) as ids on the node, for the model_stage module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import pwd


def user_id(name):
    """The uid of a user name or numeric id; KeyError when the node has no such user."""
    name = str(name)
    return int(name) if name.isdigit() else pwd.getpwnam(name).pw_uid


def group_id(name):
    """The gid of a group name or numeric id; KeyError when the node has no such group."""
    name = str(name)
    return int(name) if name.isdigit() else grp.getgrnam(name).gr_gid
