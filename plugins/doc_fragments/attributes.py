# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    # The attributes of the read-only *_info modules.
    INFO_MODULE = r"""
attributes:
  check_mode:
    support: full
    description: Read-only; runs normally in check mode.
  diff_mode:
    support: none
    description: Read-only.
"""
