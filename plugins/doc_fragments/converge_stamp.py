# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    # The options converge_stamp and converge_stamp_info share.
    DOCUMENTATION = r"""
options:
  path:
    description: Where the stamp is kept (an absolute path).
    type: path
    default: /var/lib/gpufleet/converged.json
  digest:
    description:
      - Digest of the run's inputs (64 hexadecimal digits), from the P(gpufleet.triton.converge_digest#lookup) lookup.
    type: str
    required: true
  timeout:
    description: Seconds to wait for each HTTP answer, more than 0 and at most 3600.
    type: float
    default: 5
"""
