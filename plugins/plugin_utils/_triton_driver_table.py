# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Triton (NGC) release -> CUDA -> minimum NVIDIA driver table of filter nvidia_driver_triton_requirement.

One authority: a row records only the CUDA version a release is based on (and, for the audit trail, the driver the
release's own notes name). The minimum driver is CUDA's own (CUDA_BRANCH), the forward-compatible data-center
branches are the CUDA Compatibility guide's (FORWARD_COMPAT); where a release note names another driver, CUDA's
minimum wins and the row's note says so. docs/driver-compatibility.md shows the whole table with its sources.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# CUDA Toolkit release notes, table "CUDA Toolkit and Corresponding Driver Versions" (Linux x86_64), as of CUDA 13.1
# (https://docs.nvidia.com/cuda/archive/13.1.0/cuda-toolkit-release-notes/, its 13.2 and 13.3 editions for 13.2-13.3):
# the branch of the toolkit driver of each CUDA minor release (all its updates stay on that branch, e.g. 12.8 GA
# >=570.26, 12.8 Update 1 >=570.124.06). CUDA 13.4 bundles no Linux driver; the CUDA Compatibility guide pairs it with
# R615 ("615+ (CUDA 13.4)").
CUDA_BRANCH = {
    "12.0": 525,
    "12.1": 530,
    "12.2": 535,
    "12.3": 545,
    "12.4": 550,
    "12.5": 555,
    "12.6": 560,
    "12.8": 570,
    "12.9": 575,
    "13.0": 580,
    "13.1": 590,
    "13.2": 595,
    "13.3": 610,
    "13.4": 615,
}

# CUDA Compatibility guide, "Forward Compatibility" (https://docs.nvidia.com/deploy/cuda-compatibility/
# forward-compatibility.html, the edition that covers CUDA 13.4): the data-center driver branches the
# cuda-compat-<major>-<minor> package supports. Branches it does not list (R470, R525, R545, R550, R560, R565, R575)
# are end of life and no target; CUDA 12.0-12.2 need no package on any branch it lists.
FORWARD_COMPAT = {
    "12.3": (535,),
    "12.4": (535,),
    "12.5": (535,),
    "12.6": (535,),
    "12.8": (535,),
    "12.9": (535, 570),
    "13.0": (535, 570),
    "13.1": (535, 570, 580),
    "13.2": (535, 570, 580, 590),
    "13.3": (535, 570, 580, 590, 595),
    "13.4": (535, 570, 580, 590, 595, 610),
}

# Where a row comes from.
NOTES = "notes"  # Triton release notes, docs.nvidia.com/deeplearning/triton-inference-server/release-notes/rel-YY-MM
# Triton's Release Compatibility Matrix: triton-inference-server/server, docs/introduction/compatibility.md
MATRIX = "matrix"
SOURCES = {
    NOTES: "Triton %s release notes",
    MATRIX: "Triton Release Compatibility Matrix, %s",
}

# (key, CUDA version as the source gives it, driver branch the source names or None, source), by key. A key is a
# release (YY.MM: its -py3 image) or a full tag (YY.MM-<variant>). Releases whose notes were not found are absent
# (docs/driver-compatibility.md lists them): the filter reports them as unknown, never as an exact match.
ROWS = (
    ("23.03", "12.1.0", 530, NOTES),
    ("23.04", "12.1.0", 530, NOTES),
    ("23.05", "12.1.1", 530, NOTES),
    ("23.07", "12.1.1", 530, NOTES),
    ("23.08", "12.2.1", 535, NOTES),
    ("23.09", "12.2.1", 535, NOTES),
    ("23.12", "12.3.2", 545, NOTES),
    ("24.01", "12.3.2", 545, NOTES),
    ("24.04", "12.4", 545, NOTES),
    ("24.05", "12.4", 545, NOTES),
    ("24.06", "12.5.0.23", 545, NOTES),
    ("24.07", "12.5.1", 555, NOTES),
    ("24.08", "12.6", 560, NOTES),
    ("24.10", "12.6.2", 560, NOTES),
    ("25.01", "12.8.0.038", 560, NOTES),
    ("25.02", "12.8.0.38", 560, NOTES),
    ("25.03", "12.8.1.012", 560, NOTES),
    ("25.04", "12.9.0", 575, NOTES),
    ("25.06", "12.9.1.010", 575, NOTES),
    ("25.08", "13.0.0.044", 575, NOTES),
    ("25.10", "13.0.2.006", 575, NOTES),
    ("25.12", "13.1.0.36", 575, NOTES),
    ("26.06", "13.3.0", None, NOTES),
    ("26.08", "13.4.1", None, NOTES),
    ("26.09", "13.4.1", None, NOTES),
    # -trtllm-python-py3 (TensorRT-LLM), from the matrix's "Container Name: trtllm-python-py3".
    ("24.04-trtllm-python-py3", "12.3.2.001", 545, MATRIX),
    ("24.05-trtllm-python-py3", "12.3.2.001", 545, MATRIX),
    ("24.06-trtllm-python-py3", "12.4.0.041", 550, MATRIX),
    ("24.07-trtllm-python-py3", "12.4.1.003", 550, MATRIX),
    ("24.08-trtllm-python-py3", "12.5.1.007", 555, MATRIX),
    ("24.09-trtllm-python-py3", "12.5.1.007", 555, MATRIX),
    ("24.10-trtllm-python-py3", "12.5.1.007", 555, MATRIX),
    ("24.11-trtllm-python-py3", "12.6.3", 555, MATRIX),
    ("24.12-trtllm-python-py3", "12.6.3", 560, MATRIX),
    ("25.01-trtllm-python-py3", "12.8.0.038", 570, MATRIX),
    ("25.02-trtllm-python-py3", "12.8.0.038", 570, MATRIX),
    ("25.03-trtllm-python-py3", "12.8.1.012", 570, MATRIX),
    ("25.04-trtllm-python-py3", "12.8.1.012", 570, MATRIX),
    ("25.05-trtllm-python-py3", "12.8.1.012", 570, MATRIX),
    ("25.06-trtllm-python-py3", "12.9.0.036", 575, MATRIX),
    ("25.07-trtllm-python-py3", "12.9.0.036", 575, MATRIX),
    ("25.08-trtllm-python-py3", "12.9.0.043", 575, MATRIX),
    ("25.09-trtllm-python-py3", "12.9.1.010", 575, MATRIX),
    ("25.10-trtllm-python-py3", "12.9.1.010", 575, MATRIX),
    ("25.11-trtllm-python-py3", "13.0.2.006", 580, MATRIX),
    ("25.12-trtllm-python-py3", "13.0.2.006", 580, MATRIX),
    ("26.01-trtllm-python-py3", "13.0.2.006", 580, MATRIX),
    ("26.02-trtllm-python-py3", "13.0.2.006", 580, MATRIX),
    ("26.03-trtllm-python-py3", "13.1.0.036", 590, MATRIX),
    ("26.04-trtllm-python-py3", "13.1.0.036", 590, MATRIX),
    ("26.05-trtllm-python-py3", "13.1.0.036", 590, MATRIX),
    ("26.06-trtllm-python-py3", "13.1.0.036", 590, MATRIX),
    ("26.07-trtllm-python-py3", "13.1.0.036", 590, MATRIX),
    # -vllm-python-py3 (vLLM), from the matrix's "Container Name: vllm-python-py3".
    ("24.04-vllm-python-py3", "12.4.1", 550, MATRIX),
    ("24.05-vllm-python-py3", "12.4.1", 550, MATRIX),
    ("24.06-vllm-python-py3", "12.5.0.23", 555, MATRIX),
    ("24.07-vllm-python-py3", "12.5.1", 555, MATRIX),
    ("24.08-vllm-python-py3", "12.6.0.022", 560, MATRIX),
    ("24.09-vllm-python-py3", "12.6.1.006", 560, MATRIX),
    ("24.10-vllm-python-py3", "12.6.2.004", 560, MATRIX),
    ("24.11-vllm-python-py3", "12.6.3.001", 560, MATRIX),
    ("24.12-vllm-python-py3", "12.6.3.004", 560, MATRIX),
    ("25.01-vllm-python-py3", "12.8.0.038", 570, MATRIX),
    ("25.02-vllm-python-py3", "12.8.0.038", 570, MATRIX),
    ("25.03-vllm-python-py3", "12.8.1.012", 570, MATRIX),
    ("25.04-vllm-python-py3", "12.9.0.036", 575, MATRIX),
    ("25.05-vllm-python-py3", "12.9.0.043", 575, MATRIX),
    ("25.06-vllm-python-py3", "12.9.0.043", 575, MATRIX),
    ("25.07-vllm-python-py3", "12.9.0.043", 575, MATRIX),
    ("25.08-vllm-python-py3", "13.0.1.012", 580, MATRIX),
    ("25.09-vllm-python-py3", "13.0.1.012", 580, MATRIX),
    ("25.10-vllm-python-py3", "13.0.2.006", 580, MATRIX),
    ("25.11-vllm-python-py3", "13.0.2.006", 580, MATRIX),
    ("25.12-vllm-python-py3", "13.1.0.036", 590, MATRIX),
    ("26.01-vllm-python-py3", "13.1.1.006", 590, MATRIX),
    ("26.02-vllm-python-py3", "13.1.1.006", 590, MATRIX),
    ("26.03-vllm-python-py3", "13.2.0.046", 595, MATRIX),
    ("26.04-vllm-python-py3", "13.2.1.009", 595, MATRIX),
    ("26.05-vllm-python-py3", "13.2.1.009", 595, MATRIX),
    ("26.06-vllm-python-py3", "13.3.0.035", 610, MATRIX),
    ("26.07-vllm-python-py3", "13.3.0.035", 610, MATRIX),
    ("26.08-vllm-python-py3", "13.4.1.012", 615, MATRIX),
)


def cuda_minor(cuda):
    """'12.8.1.012' -> '12.8'."""
    return ".".join(cuda.split(".")[:2])


def row(key, cuda, stated, source):
    """A table row as the filter uses it: the minimum and the forward-compatible branches from CUDA's own tables, and
    a note where the source named another driver."""
    minor = cuda_minor(cuda)
    minimum = CUDA_BRANCH[minor]
    release, _sep, variant = key.partition("-")
    note = ""
    if stated is not None and stated != minimum:
        note = "%s: driver R%d; CUDA %s needs R%d or later (CUDA Toolkit release notes), and R%d is used" % (
            SOURCES[source] % (variant or release),
            stated,
            minor,
            minimum,
            minimum,
        )
    return {
        "key": key,
        "release": release,
        "variant": variant,
        "cuda": cuda,
        "min_branch": minimum,
        "compat_branches": list(FORWARD_COMPAT.get(minor, ())),
        "stated_branch": stated,
        "note": note,
        "source": SOURCES[source] % (variant or release),
    }


TABLE = dict((key, row(key, cuda, stated, source)) for key, cuda, stated, source in ROWS)
