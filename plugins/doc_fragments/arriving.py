# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    # The internal options of the modules that read a sent file as it arrives (module_utils/_arriving.py):
    # verified_copy and model_stage; their argument specs take ARRIVING_ARGS from there.
    DOCUMENTATION = r"""
options:
  _follow:
    description: Internal, set by the action plugin when the node reads the sent file as it arrives; not for tasks.
    type: bool
    default: false
  _stall_timeout:
    description: Internal; seconds without new bytes after which the node stops reading a file as it arrives.
    type: int
    default: 300
notes:
  - Before anything is sent, the action plugin checks that the file system of the node's temporary folder
    (C(ansible_remote_tmp); by default the login user's C(~/.ansible/tmp), usually on the root file system) can take
    the file and still keep the smaller of 1 GiB and 5% of it free. Otherwise the task fails naming the folder, its
    free space and the file's size, so that a multi-GB transfer never fills the root file system of a serving node.
"""
