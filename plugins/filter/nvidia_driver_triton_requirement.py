# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: nvidia_driver_triton_requirement
short_description: The minimum NVIDIA driver a Triton (NGC) image needs, and whether a driver satisfies it
version_added: 0.1.0
description:
  - Looks the image's tag up in the table of NGC release notes ("Driver Requirements"), keyed by the full tag so that
    the C(-trtllm-python-py3) and C(-vllm-python-py3) variants, which use other CUDA versions, can have rows of their
    own.
  - "Built-in rows: 23.08 -> 535 (forward-compatible data-center branches R450, R470, R510, R525, R535);
    24.04 -> 545, 24.07 -> 555, 24.10 -> 560, 25.02 -> 560, 25.06 -> 575 (R470, R525, R535, R545);
    25.08 and later -> 580 (CUDA 13 needs the R580 branch; no forward-compatible branch)."
  - A release between two rows takes the later row's minimum (never too low; RV(_value.exact) is false); a release
    before the first row takes the first row's minimum, which every older image also accepts.
  - A variant (C(trtllm), C(vllm)) with no row of its own takes the row of its release and RV(_value.exact) is false.
author:
  - gpufleet.triton maintainers
options:
  _input:
    description: The image reference, for example V(nvcr.io/nvidia/tritonserver:24.10-py3).
    type: str
    required: true
  driver_version:
    description:
      - The driver version or branch to check (V(535.261.03), V(535)); empty to only look the image up.
      - Anything that does not start with a number of at most 6 digits fails (AnsibleFilterError).
    type: str
    default: ""
  forward_compat:
    description: Accept the data-center forward-compatible branches the release notes list (data-center GPUs only).
    type: bool
    default: true
  table:
    description:
      - Extra or overriding rows, keyed by full tag (V(24.10-trtllm-python-py3)) or release (V(24.10)); each a dict with
        C(min_branch) (int) and optionally C(compat_branches) (list of int) and C(cuda).
      - A row of another shape fails (AnsibleFilterError naming its key), as do an O(image) that is not a non-empty
        string and an O(forward_compat) that is not a boolean.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Fail early when the driver is too old for the image
  vars:
    req: >-
      {{ 'nvcr.io/nvidia/tritonserver:24.10-py3'
         | gpufleet.triton.nvidia_driver_triton_requirement(driver_version='535.261.03') }}
  ansible.builtin.assert:
    that: req.satisfied
    fail_msg: "{{ req.message }}"
"""

RETURN = r"""
_value:
  description: The requirement and, with O(driver_version), the verdict.
  type: dict
  contains:
    known:
      description: Whether the image has a release tag the table could be applied to.
      type: bool
    exact:
      description: Whether a row for exactly this tag or release was found.
      type: bool
    release:
      description: The NGC release, for example V(24.10).
      type: str
    variant:
      description: What follows the release in the tag, for example V(py3) or V(trtllm-python-py3).
      type: str
    min_branch:
      description: The minimum driver branch.
      type: int
    compat_branches:
      description: Data-center branches accepted through forward compatibility.
      type: list
      elements: int
    cuda:
      description: The CUDA version of the release.
      type: str
    driver_branch:
      description: The branch of O(driver_version), or null.
      type: int
    satisfied:
      description: Whether O(driver_version) satisfies the image; null without a driver version or a known tag.
      type: bool
    via_forward_compat:
      description: Whether it is satisfied only through a forward-compatible branch.
      type: bool
    message:
      description: One sentence naming the image, the driver and the minimum.
      type: str
"""

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

_COMPAT_2404 = [470, 525, 535, 545]
# (release, minimum branch, CUDA, forward-compatible data-center branches), ascending.
_ROWS = [
    ("23.08", 535, "12.2.1", [450, 470, 510, 525, 535]),
    ("24.04", 545, "12.4", _COMPAT_2404),
    ("24.07", 555, "12.5.1", _COMPAT_2404),
    ("24.10", 560, "12.6.2", _COMPAT_2404),
    ("25.02", 560, "12.8.0", _COMPAT_2404),
    ("25.06", 575, "12.9.1", _COMPAT_2404),
    ("25.08", 580, "13.0", []),
]
_TAG = re.compile(r"^(?P<release>[0-9]{2}\.[0-9]{2})(?:-(?P<variant>.+))?$")


def _tag(image):
    ref = image.split("@", 1)[0]
    _name, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag:
        return ""
    return tag


def _row(release):
    for rel, minimum, cuda, compat in _ROWS:
        if release == rel:
            return minimum, cuda, list(compat), True
        if release < rel:
            return minimum, cuda, list(compat), False
    rel, minimum, cuda, compat = _ROWS[-1]
    # The last row stands for "this release and later".
    return minimum, cuda, list(compat), True


_BRANCH_DIGITS = 6  # driver branches have 3 digits; a longer number is not a version


def _fail(msg):
    raise AnsibleFilterError("nvidia_driver_triton_requirement: " + msg)


def _branch(version):
    """The branch (leading number) of a driver version or branch, None for an empty one."""
    if version is None or version == "":
        return None
    match = re.match(r"\s*([0-9]{1,%d})(?![0-9])" % _BRANCH_DIGITS, str(version))
    if isinstance(version, bool) or not isinstance(version, (str, int, float)) or not match:
        _fail("driver_version=%r: expected a driver version such as 535.261.03 or a branch such as 535" % (version,))
    return int(match.group(1))


def _int_branch(value):
    """A branch from the table: an int or its ASCII digits, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**_BRANCH_DIGITS:
        return value
    if isinstance(value, str) and re.match(r"[0-9]{1,%d}\Z" % _BRANCH_DIGITS, value):
        return int(value)
    return None


def _table(table):
    """{key: (min_branch, compat_branches, cuda)} of the table option, checked whole."""
    if table is None:
        return {}
    if not isinstance(table, dict):
        _fail("table must be a dict of rows keyed by tag or release, got %r" % (table,))
    rows = {}
    for key, row in table.items():
        expected = (
            "table[%r] must be a dict with min_branch (a driver branch such as 560), and optionally compat_branches "
            "(a list of branches) and cuda, got %r" % (key, row)
        )
        if not isinstance(row, dict):
            _fail(expected)
        minimum = _int_branch(row.get("min_branch"))
        compat = row.get("compat_branches", [])
        compat = [_int_branch(b) for b in compat] if isinstance(compat, list) else [None]
        if minimum is None or None in compat:
            _fail(expected)
        rows[key] = (minimum, compat, str(row.get("cuda", "")))
    return rows


def nvidia_driver_triton_requirement(image, driver_version="", forward_compat=True, table=None):
    if not isinstance(image, str) or not image:
        _fail("the image must be a non-empty string, got %r" % (image,))
    try:
        forward_compat = boolean(forward_compat, strict=True)
    except TypeError:
        _fail("forward_compat must be a boolean, got %r" % (forward_compat,))
    driver_branch = _branch(driver_version)
    table = _table(table)
    tag = _tag(image)
    result = {
        "image": image,
        "tag": tag,
        "known": False,
        "exact": False,
        "release": "",
        "variant": "",
        "min_branch": None,
        "compat_branches": [],
        "cuda": "",
        "driver_branch": driver_branch,
        "satisfied": None,
        "via_forward_compat": False,
        "message": "",
    }
    match = _TAG.match(tag)
    if not match:
        result["message"] = (
            "%s has no NGC release tag (YY.MM-...): the driver minimum cannot be looked up; set "
            "nvidia_driver_triton_min_branch" % image
        )
        return result
    release, variant = match.group("release"), match.group("variant") or ""
    minimum, cuda, compat, exact = _row(release)
    is_variant = any(word in variant.split("-") for word in ("trtllm", "vllm"))
    if is_variant:
        exact = False
    for key in (release, tag):
        if key in table:
            minimum, compat, cuda = table[key]
            exact = True
    result.update(
        known=True, exact=exact, release=release, variant=variant, min_branch=minimum, compat_branches=compat, cuda=cuda
    )
    branch = result["driver_branch"]
    if branch is None:
        result["message"] = "%s needs NVIDIA driver %d or later" % (image, minimum)
        return result
    if branch >= minimum:
        result["satisfied"] = True
    elif forward_compat and branch in compat:
        result["satisfied"] = True
        result["via_forward_compat"] = True
    else:
        result["satisfied"] = False
    verdict = {True: "satisfies", False: "does not satisfy"}[result["satisfied"]]
    result["message"] = "driver %s (branch %d) %s %s, which needs driver %d or later%s%s" % (
        driver_version,
        branch,
        verdict,
        image,
        minimum,
        " (forward-compatible data-center branches: %s)" % ", ".join("R%d" % b for b in compat) if compat else "",
        "" if exact else "; no exact row for tag %s, the nearest stricter row was used" % tag,
    )
    return result


class FilterModule(object):
    def filters(self):
        return {"nvidia_driver_triton_requirement": nvidia_driver_triton_requirement}
