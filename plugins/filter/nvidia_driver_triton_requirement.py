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
  - Looks the image's tag up in a table of Triton container releases (YY.MM) and of the full tags of the
    C(-trtllm-python-py3) and C(-vllm-python-py3) variants, which use other CUDA versions in some releases.
  - "One authority: a row records the CUDA version the release is based on (from its Triton release notes, or for a
    variant from Triton's Release Compatibility Matrix); the minimum driver is CUDA's own for that CUDA version (CUDA
    Toolkit release notes, table \"CUDA Toolkit and Corresponding Driver Versions\") and the forward-compatible
    data-center branches are those of the CUDA Compatibility guide. Where a release note names another driver (25.03
    names R560 while CUDA 12.8 needs R570), CUDA's minimum is used and RV(_value.note) says so."
  - The rows, their sources and the releases whose notes could not be found are listed in the collection's
    C(docs/driver-compatibility.md).
  - A release the table does not know is never reported as an exact match (RV(_value.known) and RV(_value.exact)
    false, RV(_value.warning) set). A newer release than the newest row is checked against the strictest minimum the
    table knows; a release between rows (or older than the first) against the next newer release it knows, since CUDA
    versions only grow from release to release. A variant without a row of its own is checked against its release's
    row (RV(_value.exact) false, RV(_value.warning) set).
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
    description:
      - Accept the data-center forward-compatible branches of the CUDA Compatibility guide (data-center GPUs only).
    type: bool
    default: true
  table:
    description:
      - Extra or overriding rows, keyed by full tag (V(24.10-trtllm-python-py3)) or release (V(24.10)); each a dict with
        C(min_branch) (int) and optionally C(compat_branches) (list of int) and C(cuda). A row given here is an exact
        match and wins over the built-in table (a full tag over a release).
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
      description: Whether the table (or O(table)) has a row for the image's release or full tag.
      type: bool
    exact:
      description: Whether that row is for exactly this image (its full tag, or its release for the C(-py3) image).
      type: bool
    match:
      description:
        - How the minimum was found. V(override) (a row of O(table)), V(tag) (a row for the full tag), V(release) (the
          release's row, C(-py3) image), V(variant) (the release's row used for another variant), V(gap) (a release
          between rows), V(older) (before the first row), V(newer) (after the newest row), V(none) (no release tag).
      type: str
    release:
      description: The NGC release, for example V(24.10).
      type: str
    variant:
      description: What follows the release in the tag, for example V(py3) or V(trtllm-python-py3).
      type: str
    min_branch:
      description: The minimum driver branch (for an unknown release, the one assumed); null without a release tag.
      type: int
    compat_branches:
      description: Data-center branches accepted through forward compatibility.
      type: list
      elements: int
    cuda:
      description: The CUDA version of the row used; empty for an unknown release.
      type: str
    note:
      description: Where the row's source names another driver than CUDA's minimum, which one and that CUDA's won.
      type: str
    source:
      description: The source of the row used.
      type: str
    warning:
      description:
        - Why the answer is not exact (unknown release, variant without a row, no release tag); empty when exact.
      type: str
    driver_branch:
      description: The branch of O(driver_version), or null.
      type: int
    satisfied:
      description: Whether O(driver_version) satisfies the image; null without a driver version or a release tag.
      type: bool
    via_forward_compat:
      description: Whether it is satisfied only through a forward-compatible branch.
      type: bool
    message:
      description: One sentence naming the image, the driver and the minimum, with the row's note and the warning.
      type: str
"""

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.gpufleet.triton.plugins.module_utils._triton_image_variants import image_tag
from ansible_collections.gpufleet.triton.plugins.plugin_utils._triton_driver_table import TABLE

_TAG = re.compile(r"^(?P<release>[0-9]{2}\.[0-9]{2})(?:-(?P<variant>.+))?$")
_BASE_VARIANT = "py3"  # a release's own row is for its -py3 image
_HINT = "nvidia_driver_triton_driver_table adds a row for it, nvidia_driver_triton_min_branch sets the minimum"
_BRANCH_DIGITS = 6  # driver branches have 3 digits; a longer number is not a version


def _known(release, variant, tag):
    """(row, match) for a release or tag the table knows, else (None, None)."""
    if tag in TABLE:
        return TABLE[tag], "tag"
    if release in TABLE:
        return TABLE[release], "release" if variant == _BASE_VARIANT else "variant"
    return None, None


def _assumed(release, variant):
    """(row, match, what) for a release the table does not know, from the -py3 rows and those of the same variant:
    the row of the nearest later release (the variant's own where it has one), else the strictest row of all."""
    rows = [r for r in TABLE.values() if r["variant"] in ("", variant)]
    later = [r for r in rows if r["release"] > release]
    if not later:
        newest = max(r["release"] for r in rows)
        row = max(rows, key=lambda r: (r["min_branch"], r["release"]))
        what = "newer than its newest row, %s: it assumed R%d, the strictest minimum it knows"
        return row, "newer", what % (newest, row["min_branch"])
    nearest = min(r["release"] for r in later)
    row = max((r for r in later if r["release"] == nearest), key=lambda r: r["variant"] == variant)
    match = "gap" if any(r["release"] < release for r in rows) else "older"
    where = "between its rows" if match == "gap" else "older than its first row"
    what = "%s: it assumed R%d, the minimum of %s, the next release it knows (CUDA versions only grow from release to "
    return row, match, (what + "release)") % (where, row["min_branch"], row["key"])


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
    """{key: row} of the table option, checked whole."""
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
        rows[key] = {
            "min_branch": minimum,
            "compat_branches": compat,
            "cuda": str(row.get("cuda", "")),
            "note": "",
            "source": "the table option's row %s" % key,
        }
    return rows


def _lookup(image, tag, table):
    """The result's requirement part for an image with a release tag, or None for one without."""
    match = _TAG.match(tag)
    if not match:
        return None
    release, variant = match.group("release"), match.group("variant") or ""
    found = {"release": release, "variant": variant, "warning": ""}
    for key in (tag, release):
        if key in table:
            found.update(table[key], known=True, exact=True, match="override")
            return found
    row, how = _known(release, variant, tag)
    if row is not None:
        found.update(known=True, exact=how != "variant", match=how)
        if how == "variant":
            found["warning"] = (
                "%s: the table has no row for variant %r of release %s: it used the release's row (CUDA %s, R%d), "
                "which this variant may exceed; %s" % (image, variant, release, row["cuda"], row["min_branch"], _HINT)
            )
    else:
        row, how, what = _assumed(release, variant)
        found.update(known=False, exact=False, match=how)
        found["warning"] = "%s: the table does not know release %s, %s; %s" % (image, release, what, _HINT)
    found.update(
        min_branch=row["min_branch"],
        compat_branches=list(row["compat_branches"]),
        cuda=row["cuda"] if found["known"] else "",
        note=row["note"] if found["known"] else "",
        source=row["source"],
    )
    return found


def nvidia_driver_triton_requirement(image, driver_version="", forward_compat=True, table=None):
    if not isinstance(image, str) or not image:
        _fail("the image must be a non-empty string, got %r" % (image,))
    try:
        forward_compat = boolean(forward_compat, strict=True)
    except TypeError:
        _fail("forward_compat must be a boolean, got %r" % (forward_compat,))
    driver_branch = _branch(driver_version)
    table = _table(table)
    tag = image_tag(image)
    result = {
        "image": image,
        "tag": tag,
        "known": False,
        "exact": False,
        "match": "none",
        "release": "",
        "variant": "",
        "min_branch": None,
        "compat_branches": [],
        "cuda": "",
        "note": "",
        "source": "",
        "warning": "",
        "driver_branch": driver_branch,
        "satisfied": None,
        "via_forward_compat": False,
        "message": "",
    }
    found = _lookup(image, tag, table)
    if found is None:
        result["warning"] = result["message"] = (
            "%s has no NGC release tag (YY.MM-...): the driver minimum cannot be looked up; set "
            "nvidia_driver_triton_min_branch" % image
        )
        return result
    result.update(found)
    minimum, compat = found["min_branch"], found["compat_branches"]
    detail = "".join(
        " " + part.rstrip(".") + "."
        for part in (
            "CUDA %s" % result["cuda"] if result["cuda"] else "",
            "%s data-center branches: %s"
            % (
                "Forward-compatible" if forward_compat else "Not accepted (forward_compat false), forward-compatible",
                ", ".join("R%d" % b for b in compat),
            )
            if compat
            else "",
            "Note: " + result["note"] if result["note"] else "",
            "Warning: " + result["warning"] if result["warning"] else "",
        )
        if part
    )
    if driver_branch is None:
        result["message"] = "%s needs NVIDIA driver %d or later.%s" % (image, minimum, detail)
        return result
    if driver_branch >= minimum:
        result["satisfied"] = True
    elif forward_compat and driver_branch in compat:
        result["satisfied"] = True
        result["via_forward_compat"] = True
    else:
        result["satisfied"] = False
    verdict = {True: "satisfies", False: "does not satisfy"}[result["satisfied"]]
    result["message"] = "driver %s (branch %d) %s %s, which needs driver %d or later%s.%s" % (
        driver_version,
        driver_branch,
        verdict,
        image,
        minimum,
        " (through forward compatibility, data-center GPUs only)" if result["via_forward_compat"] else "",
        detail,
    )
    return result


class FilterModule(object):
    def filters(self):
        return {"nvidia_driver_triton_requirement": nvidia_driver_triton_requirement}
