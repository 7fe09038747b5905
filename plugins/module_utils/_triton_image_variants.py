# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The backends each NGC Triton image variant serves with, told from the image reference's tag.

NGC tags Triton's images `<YY.MM>-<variant>`; the serving variants differ in /opt/tritonserver/backends, which is what
model_repository_info judges a repository against (a model of another backend fails to load: "unable to find backend
library"). Used by the triton_server_image_backends filter, so that triton_server gives the validator the image's
list without the operator's help.

Private to this collection: no stable API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Where each list comes from (the NGC catalog's tritonserver page describes each tag; NVIDIA's docs and maintainers
# agree where cited):
# - py3: /opt/tritonserver/backends of nvcr.io/nvidia/tritonserver:24.10-py3 (NGC: "support for TensorFlow, PyTorch,
#   TensorRT, ONNX and OpenVINO models"; the release's DALI and FIL backends and the example identity, repeat and
#   square backends are in the same folder).
# - vllm-python-py3: NGC "support for vLLM and Python backends only"; the vLLM backend's README (the image exists from
#   23.10 on; the vLLM backend is a python-based backend, so it needs python beside it).
# - trtllm-python-py3: NGC "support for TensorRT-LLM and Python backends only"; NVIDIA in server issue #7346 ("only has
#   TRTLLM and Python backends").
# - pyt-python-py3: NGC "PyTorch and Python backends only".
# - tf2-python-py3: NGC "TensorFlow 2.x and Python backends only".
PY3_BACKENDS = (
    "python",
    "onnxruntime",
    "pytorch",
    "tensorflow",
    "tensorrt",
    "openvino",
    "fil",
    "identity",
    "repeat",
    "square",
    "dali",
)
SERVING_VARIANTS = {
    "py3": PY3_BACKENDS,
    "vllm-python-py3": ("vllm", "python"),
    "trtllm-python-py3": ("tensorrtllm", "python"),
    "pyt-python-py3": ("pytorch", "python"),
    "tf2-python-py3": ("tensorflow", "python"),
}
# The TensorFlow backend is deprecated as of 25.03 (server PR #8068 took it out of that release's tests): 25.02 is the
# last release whose images carry it, and the last with a -tf2-python-py3 image.
LAST_RELEASE = {"tensorflow": "25.02"}
VARIANT_LAST_RELEASE = {"tf2-python-py3": "25.02"}
# NGC tags that are not a server to serve a repository with.
_BASE = "a base for building custom images (compose.py, a Dockerfile), not a serving image"
_SDK = "the client SDK image (clients, perf_analyzer), which has no server"
NOT_SERVING = {"py3-min": _BASE, "py3-igpu-min": _BASE, "py3-sdk": _SDK, "py3-igpu-sdk": _SDK}

_RELEASE_TAG = re.compile(r"^(?P<release>[0-9]{2}\.[0-9]{2})-(?P<variant>.+)$")


def image_tag(image):
    """The tag of an image reference ('' when it has none: a name alone, or a digest alone)."""
    ref = image.split("@", 1)[0]
    _name, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag:  # registry:port/name has a colon but no tag
        return ""
    return tag


def known_variants():
    """The serving variants, as a message lists them."""
    return [
        "%s (up to %s)" % (variant, VARIANT_LAST_RELEASE[variant]) if variant in VARIANT_LAST_RELEASE else variant
        for variant in SERVING_VARIANTS
    ]


def image_backends(image):
    """What an image reference's tag says about the backends the image serves with.

    A dict: image, tag, release, variant (what follows the release), serving (a variant whose backends are known),
    backends (their list, empty unless serving), known_variants, reason (why the backends are not known, else '')."""
    tag = image_tag(image)
    result = {
        "image": image,
        "tag": tag,
        "release": "",
        "variant": "",
        "serving": False,
        "backends": [],
        "known_variants": known_variants(),
        "reason": "",
    }
    if not tag:
        if "@" in image:
            result["reason"] = (
                "it is given by digest alone, so its tag, and with it its variant, is unknown (name:tag@sha256:... "
                "would tell it)"
            )
        else:
            result["reason"] = "it has no tag (Docker takes it as :latest), so its variant is unknown"
        return result
    match = _RELEASE_TAG.match(tag)
    if not match:
        result["reason"] = "its tag '%s' is not an NGC release tag (<YY.MM>-<variant>)" % tag
        return result
    release, variant = match.group("release"), match.group("variant")
    result.update(release=release, variant=variant)
    if variant in NOT_SERVING:
        result["reason"] = "'-%s' is %s" % (variant, NOT_SERVING[variant])
    elif variant not in SERVING_VARIANTS:
        result["reason"] = "'-%s' is not an NGC serving variant this collection knows" % variant
    elif release > VARIANT_LAST_RELEASE.get(variant, release):
        result["reason"] = "NGC published '-%s' images up to %s only, not for %s" % (
            variant,
            VARIANT_LAST_RELEASE[variant],
            release,
        )
    else:
        result["serving"] = True
        result["backends"] = [b for b in SERVING_VARIANTS[variant] if release <= LAST_RELEASE.get(b, release)]
    return result
