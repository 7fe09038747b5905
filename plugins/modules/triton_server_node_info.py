#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: triton_server_node_info
short_description: Read what the triton_server role needs to know about a node, in one call
version_added: 0.1.0
description:
  - Reads, each only when its option is set, the image's ID (O(image)), whether a Python can run the node's model
    validator (O(validator_python)), the models the role's last run managed (O(managed_models_record)), the holder of
    the role's lock (O(lock_path)), and the digest of each model of a model repository (O(repository)).
  - Run with C(delegate_to=localhost) and only O(repository), it takes the digests of the controller's repository.
    Both sides use one digest (C(plugins/module_utils/_tree_digest.py)), so equal digests mean equal files.
author:
  - gpufleet.triton maintainers (@gpufleet)
extends_documentation_fragment:
  - gpufleet.triton.attributes.info_module
attributes:
  platform:
    support: full
    platforms: posix
    description: Runs on POSIX nodes; O(image) needs the docker CLI.
options:
  image:
    description: An image reference; its local ID is looked up with C(docker image inspect).
    type: str
  validator_python:
    description: A Python interpreter on the node, asked whether it imports C(google.protobuf) and C(tritonclient).
    type: str
  managed_models_record:
    description: A JSON file holding the list of models an earlier run managed. A missing file reads as no models.
    type: path
  lock_path:
    description: The role's lock file; its first line names the run that holds it.
    type: path
  repository:
    description: A model repository whose models are digested.
    type: path
  models:
    description:
      - The models of O(repository) to digest. Omitted, every folder of O(repository) that is neither hidden nor a
        link is a model.
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Read the node
  gpufleet.triton.triton_server_node_info:
    image: nvcr.io/nvidia/tritonserver:24.10-py3
    repository: /srv/triton/models
    models: [add_sub, identity]
    managed_models_record: /etc/triton-server/managed-models.json
  register: node

- name: Digest the controller's model repository
  gpufleet.triton.triton_server_node_info:
    repository: "{{ playbook_dir }}/models"
  delegate_to: localhost
  register: src
"""

RETURN = r"""
image_id:
  description: The image's ID (C(sha256:...)), or empty when the node lacks the image.
  returned: when O(image) is set
  type: str
image_error:
  description: The first line of docker's answer when the image could not be inspected, else empty.
  returned: when O(image) is set
  type: str
validator_ready:
  description: Whether O(validator_python) imports what the validator needs.
  returned: when O(validator_python) is set
  type: bool
validator_error:
  description: The last line of the failed import's error, else empty.
  returned: when O(validator_python) is set
  type: str
managed_models:
  description: The models the record lists (empty when there is no record).
  returned: when O(managed_models_record) is set
  type: list
  elements: str
lock_holder:
  description: Who holds the lock (its first line), or empty when no lock file is there.
  returned: when O(lock_path) is set
  type: str
model_digests:
  description: The sha256 of each model (its files' relative paths and contents); null for a named model that is absent.
  returned: when O(repository) is set
  type: dict
  sample: {add_sub: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08, gone: null}
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpufleet.triton.plugins.module_utils._tree_digest import model_digests


def read_image(module, image):
    docker = module.get_bin_path("docker")
    if not docker:
        return {"image_id": "", "image_error": "no docker command on the node"}
    rc, out, err = module.run_command([docker, "image", "inspect", "--format", "{{.Id}}", image])
    if rc == 0:
        return {"image_id": out.strip(), "image_error": ""}
    lines = (err or out).strip().splitlines()
    return {"image_id": "", "image_error": lines[0] if lines else "docker image inspect exited %d" % rc}


def read_validator(module, python):
    rc, out, err = module.run_command([python, "-c", "import google.protobuf, tritonclient"])
    lines = (err or out).strip().splitlines()
    return {"validator_ready": rc == 0, "validator_error": "" if rc == 0 else (lines[-1] if lines else "exit %d" % rc)}


def read_record(module, path):
    try:
        with open(path) as handle:
            models = json.load(handle)
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        module.fail_json(msg="managed_models_record %s: %s" % (path, exc))
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        module.fail_json(msg="managed_models_record %s: not a JSON list of model names" % path)
    return models


def read_lock(path):
    try:
        with open(path) as handle:
            return handle.readline().rstrip("\n")
    except FileNotFoundError:
        return ""


def main():
    module = AnsibleModule(
        argument_spec=dict(
            image=dict(type="str"),
            validator_python=dict(type="str"),
            managed_models_record=dict(type="path"),
            lock_path=dict(type="path"),
            repository=dict(type="path"),
            models=dict(type="list", elements="str"),
        ),
        required_by={"models": "repository"},
        supports_check_mode=True,
    )
    params = module.params
    result = {"changed": False}
    if params["image"]:
        result.update(read_image(module, params["image"]))
    if params["validator_python"]:
        result.update(read_validator(module, params["validator_python"]))
    if params["managed_models_record"]:
        result["managed_models"] = read_record(module, params["managed_models_record"])
    if params["lock_path"]:
        result["lock_holder"] = read_lock(params["lock_path"])
    if params["repository"]:
        names = params["models"]
        if names is None and not os.path.isdir(params["repository"]):
            module.fail_json(msg="repository %s is not a folder" % params["repository"])
        result["model_digests"] = model_digests(params["repository"], names)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
