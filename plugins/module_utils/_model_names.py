# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rule for a model's folder name (triton_server_node_info checks the names it is given with it)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def model_name_error(name):
    """Why name cannot be a model folder of a repository, or None when it can."""
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        return "model names must be plain folder names (no '/', not '.' or '..'), got %r" % (name,)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        try:
            shown = name.encode("utf-8", "surrogateescape")  # the folder's bytes, which os.listdir escaped
        except UnicodeEncodeError:
            shown = name
        return "model names must be valid UTF-8 (Triton names models with UTF-8 strings), got %r" % (shown,)
    return None
