#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: model_repository_info
short_description: Validate a Triton Inference Server model repository before a server loads it
version_added: 0.1.0
description:
  - Reads a Triton model repository on the node and judges every model the way Triton 2.51 (NGC 24.10) does when it
    loads the repository, without starting a server.
  - Parses each C(config.pbtxt) with Triton's own schema (C(inference.ModelConfig) from C(model_config.proto)) through
    protobuf's C(text_format) and reports syntax errors, unknown fields and bad enumeration values with the file, line
    and column protobuf gives, naming the field. The wording is protobuf's; Triton's own parser may word it otherwise
    and point at the next token.
  - Checks directory and C(name) agreement, version directories and C(version_policy), the model file each
    platform/backend needs (C(model.py) for python, whose absence hangs Triton at start-up; C(model.json), the engine's
    arguments, for vllm), backends present in the image, C(max_batch_size), dims and reshape, data types, duplicate
    tensor names, batch inputs and outputs, instance groups (against O(gpu_count) when given), dynamic and sequence
    batching (preferred sizes, priority levels, queue policies, control tensors), ensembles (steps, maps, unused or
    unproduced tensors, missing or cyclic models, data type, shape and batch size consistency) and label files.
  - Mistakes Triton accepts but that break serving are reported too; see the notes for the error/warning choice.
  - Read-only; never changes the node.
author:
  - gpufleet.triton maintainers (@gpufleet)
requirements:
  - protobuf >= 6.33 and tritonclient (C(pip install tritonclient[grpc]); only its C(model_config_pb2.py) is used,
    grpcio is not needed) on the node where the module runs.
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs unchanged in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
options:
  path:
    description:
      - Path of the model repository (the directory given to C(--model-repository)) on the node; not empty.
    type: path
    required: true
  backends:
    description:
      - Backends present in the Triton image that will serve the repository. A model using any other backend is an
        error (Triton fails it with C(unable to find backend library)).
      - Defaults to the backends of the NGC C(tritonserver:24.10-py3) image. Another NGC serving variant has other
        backends (C(-vllm-python-py3) vllm and python, C(-trtllm-python-py3) tensorrtllm and python,
        C(-pyt-python-py3) pytorch and python); the P(gpufleet.triton.triton_server_image_backends#filter) filter gives
        the list of an image reference.
    type: list
    elements: str
    default: [python, onnxruntime, pytorch, tensorflow, tensorrt, openvino, fil, identity, repeat, square, dali]
  gpu_count:
    description:
      - Number of GPUs the server will see, 0 or more. When set, C(KIND_GPU) instance groups need at least one GPU
        and GPU ids must be below it. When unset, GPUs are not judged.
    type: int
  strict:
    description:
      - Judge as a server started with C(--disable-auto-complete-config) (NVIDIA's recommended flag) does; every
        model then needs a C(config.pbtxt) naming its platform or backend.
      - Without it a model without C(config.pbtxt) is valid when its backend can be told from its model file
        (Triton auto-completes the configuration).
    type: bool
    default: false
  models:
    description:
      - Only report these models (the models their ensembles use are still read to judge the ensembles).
      - A name that is not a directory of the repository is an error.
    type: list
    elements: str
  fallback_path:
    description:
      - A second repository that lends the models O(path) lacks, as if its folders were copied into O(path) (a folder
        of the same name under O(path) wins). Use it to judge staged models against the live repository they are
        about to join - an ensemble among them may use models that did not change and so were not staged. Not
        empty.
      - The ensembles of this repository that use a judged model of O(path) (directly or through other ensembles) are
        judged and reported too, because a changed model can break an ensemble that did not change. One that does not
        load from O(fallback_path) alone either is reported with RV(models[].already_invalid), and is left out of
        RV(valid), because the change did not break it.
      - Its other models are read only when an ensemble needs them, and reported only then.
    type: path
  fail_on_error:
    description:
      - Fail the task when the repository is not valid. With V(false) the task succeeds and the verdict is in
        RV(valid) and RV(models).
    type: bool
    default: true
  return_config:
    description:
      - Return each model's parsed configuration in RV(models[].config).
      - With V(false) the key is left out. The verdict, RV(models[].errors) and RV(models[].warnings) are the same
        either way; the result of a large repository is then several times smaller, which matters because Ansible's
        own handling of a task result grows with its size (for 1,000 models it takes longer than the validation).
    type: bool
    default: true
notes:
  - Errors are what makes Triton refuse the model (or hang), plus two mistakes Triton 2.51 accepts but that no request
    can use; warnings are accepted by Triton and may be intended. A tensor name declared twice among the inputs (or
    the outputs) is an error - requests address tensors by name, so one of the two can never be supplied or read. A
    first dimension of V(-1) (or equal to C(max_batch_size)) in the dims of a batching model is a warning - it is
    often a second, doubled batch dimension, but a variable first dimension (a sequence length) is also legitimate.
  - Things only a running server can see (a python C(initialize) that raises, a corrupt ONNX file, CUDA errors) are
    out of reach; use M(gpufleet.triton.server_info) with O(gpufleet.triton.server_info#module:wait_for=models_ready)
    after the restart.
seealso:
  - module: gpufleet.triton.server_info
"""

EXAMPLES = r"""
- name: Validate the repository before restarting Triton
  gpufleet.triton.model_repository_info:
    path: /srv/triton/models
    gpu_count: "{{ ansible_facts['nvidia_gpu_count'] | default(omit) }}"
    strict: true

- name: Validate against the backends of the image that will serve it (here the vLLM variant)
  gpufleet.triton.model_repository_info:
    path: /srv/triton/models
    backends: "{{ (triton_image | gpufleet.triton.triton_server_image_backends).backends }}"
  vars:
    triton_image: nvcr.io/nvidia/tritonserver:25.01-vllm-python-py3

- name: Look at a repository without failing (ad hoc - ansible localhost -m ... -a 'path=DIR fail_on_error=false')
  gpufleet.triton.model_repository_info:
    path: ./models
    fail_on_error: false
  register: repo

- name: Show what is wrong
  ansible.builtin.debug:
    msg: "{{ repo.models | selectattr('valid', 'equalto', false) | map(attribute='errors') | list }}"

- name: Judge a large repository without returning every parsed configuration
  gpufleet.triton.model_repository_info:
    path: /srv/triton/models
    return_config: false
"""

RETURN = r"""
valid:
  description:
    - Whether every reported model is valid and the repository itself is usable.
    - A model with RV(models[].already_invalid) does not count.
  returned: always
  type: bool
  sample: false
repository:
  description: Absolute path of the repository.
  returned: always
  type: str
  sample: /srv/triton/models
fallback_repository:
  description: Absolute path of O(fallback_path).
  returned: when O(fallback_path) is set
  type: str
  sample: /srv/triton/models
errors:
  description: Problems of the repository itself (missing directory, a name in O(models) that is not there).
  returned: always
  type: list
  elements: dict
  sample: []
models:
  description:
    - One entry per model directory (or per name in O(models)), sorted by name.
    - With O(fallback_path), the models read from it (see there) carry its path in RV(models[].path).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Model name (the directory name).
      type: str
      sample: add_sub
    path:
      description: Absolute path of the model directory.
      type: str
    valid:
      description: Whether the model has no error-level finding (Triton loads it and it can serve as configured).
      type: bool
    loads:
      description:
        - Whether Triton would load the model. True with V(valid=false) when every error is one Triton lets through
          (C(loads_anyway) in RV(models[].errors)), such as two inputs of one name.
      type: bool
    platform:
      description: The C(platform) of the configuration (V(ensemble) for ensembles), empty when not set.
      type: str
    backend:
      description: The backend that serves the model (from C(backend), the platform or auto-complete).
      type: str
      sample: python
    versions:
      description: Numeric version directories present.
      type: list
      elements: int
      sample: [1, 2]
    served_versions:
      description: Versions Triton serves after applying C(version_policy).
      type: list
      elements: int
      sample: [2]
    auto_complete:
      description: Whether Triton has to auto-complete the configuration (no C(config.pbtxt) or no backend in it).
      type: bool
    config:
      description:
        - The parsed configuration (protobuf JSON mapping with the proto field names); null when it could not be
          parsed. 64-bit integers such as C(dims) are strings in this mapping.
      returned: when O(return_config=true)
      type: dict
    errors:
      description:
        - Findings that make the model fail. Each has C(message) and, where known, C(file), C(line), C(column).
        - C(loads_anyway=true) marks a finding Triton does not make (it loads the model, which then cannot serve as
          its config says).
      type: list
      elements: dict
      sample:
        - message: 'Error parsing text-format inference.ModelConfig: 4:1: Message type "inference.ModelConfig" has no
            field named "foo_bar".'
          file: /srv/triton/models/bad/config.pbtxt
          line: 4
          column: 1
    warnings:
      description: Findings Triton accepts that deserve a look (same keys as RV(models[].errors)).
      type: list
      elements: dict
    already_invalid:
      description:
        - For an ensemble of O(fallback_path) judged because it uses a model of O(path) - whether it fails without the
          change too (judged from O(fallback_path) alone). Such a model does not count in RV(valid).
      returned: for the ensembles of O(fallback_path) that use a judged model of O(path)
      type: bool
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.gpufleet.triton.plugins.module_utils._model_config import (
    DEFAULT_BACKENDS,
    MissingSchemaError,
    RepositoryValidator,
)


class ModelRepositoryInfo:
    def __init__(self, module):
        self.module = module
        self.params = module.params

    def check_options(self):
        """Range checks of what argument_spec's types let through, before anything is read."""
        p = self.params
        for option in ("path", "fallback_path"):
            if p[option] is not None and not p[option].strip():
                # an empty path is the current folder to os.path.abspath: the wrong repository judged, silently
                self.module.fail_json(msg="%s must name a model repository folder, got an empty string" % option)
        count = p["gpu_count"]
        if count is not None and (isinstance(count, bool) or count < 0):
            self.module.fail_json(msg="gpu_count must be a number of GPUs, 0 or more, got %r" % (count,))

    def run(self):
        p = self.params
        self.check_options()
        try:
            validator = RepositoryValidator(
                p["path"],
                backends=p["backends"],
                gpu_count=p["gpu_count"],
                strict=p["strict"],
                models=p["models"],
                return_config=p["return_config"],
                fallback_path=p["fallback_path"],
            )
        except MissingSchemaError as exc:
            package, error = exc.args
            self.module.fail_json(
                msg=missing_required_lib(
                    "%s (Triton's model_config.proto ships compiled in tritonclient)" % package,
                    reason="to parse config.pbtxt with Triton's schema",
                ),
                exception=str(error),
            )
        result = validator.run()
        result["changed"] = False
        for model in result["models"]:
            if model.get("already_invalid"):
                self.module.warn(
                    "%s (%s) uses a model being changed and does not load with or without the change: %s"
                    % (model["name"], model["path"], "; ".join(e["message"] for e in model["errors"]))
                )
        if p["fail_on_error"] and not result["valid"]:
            result["msg"] = self.summary(result)
            self.module.fail_json(**result)
        self.module.exit_json(**result)

    @staticmethod
    def summary(result):
        lines = []
        for err in result["errors"]:
            lines.append(err["message"])
        counted = [m for m in result["models"] if not m.get("already_invalid")]
        for model in counted:
            for err in model["errors"]:
                where = err.get("file", "")
                if err.get("line"):
                    where += ":%s" % err["line"]
                    if err.get("column"):
                        where += ":%s" % err["column"]
                lines.append("%s: %s (%s)" % (model["name"], err["message"], where))
        bad = [m["name"] for m in counted if not m["valid"]]
        head = "model repository %s is not valid" % result["repository"]
        if bad:
            head += " (%d invalid model%s: %s)" % (len(bad), "" if len(bad) == 1 else "s", ", ".join(bad))
        return head + ": " + "; ".join(lines)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            backends=dict(type="list", elements="str", default=list(DEFAULT_BACKENDS)),
            gpu_count=dict(type="int"),
            strict=dict(type="bool", default=False),
            models=dict(type="list", elements="str"),
            fail_on_error=dict(type="bool", default=True),
            return_config=dict(type="bool", default=True),
            fallback_path=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    ModelRepositoryInfo(module).run()


if __name__ == "__main__":
    main()
