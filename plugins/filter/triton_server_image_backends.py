# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: triton_server_image_backends
short_description: The backends a Triton (NGC) image serves with, told from its tag
version_added: 0.1.0
description:
  - Reads the image reference's tag, C(<YY.MM>-<variant>), and returns the backends of that NGC serving variant, for
    M(gpufleet.triton.model_repository_info)'s O(gpufleet.triton.model_repository_info#module:backends).
  - "Serving variants: V(py3) (python, onnxruntime, pytorch, tensorflow, tensorrt, openvino, fil, identity, repeat,
    square, dali), V(vllm-python-py3) (vllm, python), V(trtllm-python-py3) (tensorrtllm, python), V(pyt-python-py3)
    (pytorch, python) and V(tf2-python-py3) (tensorflow, python; published up to 25.02)."
  - The TensorFlow backend is deprecated as of 25.03; for a later release V(py3) comes without V(tensorflow).
  - Anything else has no known list (RV(_value.serving) false, RV(_value.reason) says why) - V(py3-min), a base for
    building custom images, V(py3-sdk), the clients' image, a variant this filter does not know, a tag that is not an
    NGC release tag, and an image given by digest alone (C(name@sha256:...)), whose tag, and so its variant, is
    unknown (C(name:tag@sha256:...) is read by its tag).
author:
  - gpufleet.triton maintainers
options:
  _input:
    description:
      - The image reference, for example V(nvcr.io/nvidia/tritonserver:24.10-vllm-python-py3).
      - Anything but a non-empty string fails (AnsibleFilterError).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Validate a repository against the image's backends
  gpufleet.triton.model_repository_info:
    path: /srv/triton/models
    backends: "{{ (image | gpufleet.triton.triton_server_image_backends).backends }}"
  vars:
    image: nvcr.io/nvidia/tritonserver:24.10-vllm-python-py3

- name: Refuse an image whose backends are not known
  ansible.builtin.assert:
    that: info.serving
    fail_msg: "{{ info.image }}: {{ info.reason }}; known variants: {{ info.known_variants | join(', ') }}"
  vars:
    info: "{{ 'nvcr.io/nvidia/tritonserver:24.10-py3-min' | gpufleet.triton.triton_server_image_backends }}"
"""

RETURN = r"""
_value:
  description: What the tag says about the image's backends.
  type: dict
  contains:
    image:
      description: The image reference given.
      type: str
    tag:
      description: Its tag, empty when it has none.
      type: str
    release:
      description: The NGC release, for example V(24.10); empty when the tag is not C(<YY.MM>-<variant>).
      type: str
    variant:
      description: What follows the release in the tag, for example V(vllm-python-py3).
      type: str
    serving:
      description: Whether the variant is a serving variant whose backends are known.
      type: bool
    backends:
      description: The variant's backends; empty unless RV(_value.serving).
      type: list
      elements: str
    known_variants:
      description: The serving variants the filter knows.
      type: list
      elements: str
    reason:
      description: Why the backends are not known (empty when RV(_value.serving)).
      type: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.gpufleet.triton.plugins.module_utils._triton_image_variants import image_backends


def triton_server_image_backends(image):
    if not isinstance(image, str) or not image.strip():
        raise AnsibleFilterError(
            "triton_server_image_backends: the image must be a non-empty string, got %r" % (image,)
        )
    return image_backends(image)


class FilterModule(object):
    def filters(self):
        return {"triton_server_image_backends": triton_server_image_backends}
