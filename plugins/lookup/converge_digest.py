# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: converge_digest
short_description: Digest of everything a site.yml run's result depends on, for one host
version_added: 0.1.0
description:
  - Returns one sha256 (hexadecimal) over the host's variables whose names start with one of O(prefixes) (their
    templated values, secrets included, which never leave the controller), the facts named in O(facts), this
    collection's code (its roles, plugins and playbooks), and the files below O(paths) on the controller (for example
    the model repository that is deployed to the nodes).
  - Files enter by their path relative to the folder given and the sha256 of their content (compiled Python left out),
    the digest triton_server compares models with. A file of 1 MiB or more is read once while it is unchanged; its
    sha256 is recorded on it (an extended attribute) with its size, modification time and inode.
  - A variable that cannot be templated yet (it refers to a fact set later in the run) enters as its error text, which
    is the same on every run.
author:
  - gpufleet.triton maintainers (@gpufleet)
options:
  prefixes:
    description: Variable name prefixes whose variables enter the digest.
    type: list
    elements: str
    default: [nvidia_driver_, docker_engine_, nvidia_container_toolkit_, ngc_login_, image_cache_, triton_server_,
              site_]
  facts:
    description: Keys of C(ansible_facts) that enter the digest.
    type: list
    elements: str
    default: [architecture, distribution, distribution_version, distribution_release, os_family, kernel,
              virtualization_type, virtualization_role]
  paths:
    description: Controller files or folders that enter the digest (empty strings are ignored).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Compare the node with its last complete run
  gpufleet.triton.converge_stamp_info:
    digest: "{{ lookup('gpufleet.triton.converge_digest', paths=[triton_server_model_repository_src]) }}"
"""

RETURN = r"""
_raw:
  description: A list of one string, the sha256 in 64 lowercase hexadecimal digits.
  type: list
  elements: str
"""

import hashlib
import json
import os

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase
from ansible_collections.gpufleet.triton.plugins.module_utils._tree_digest import tree_digest

# this file is <collection>/plugins/lookup/converge_digest.py
COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CODE_FOLDERS = ("roles", "plugins", "playbooks")


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        variables = variables or {}
        prefixes = tuple(self.get_option("prefixes"))
        values = {}
        for name in sorted(n for n in variables if n.startswith(prefixes)):
            try:
                # LookupBase's templar: the one ansible-core gives every lookup for the host's variables
                values[name] = self._templar.template(variables[name])
            except AnsibleError as exc:
                values[name] = "<cannot template: %s>" % exc.message
        facts = variables.get("ansible_facts") or {}
        inputs = {
            "variables": values,
            "facts": dict((key, facts.get(key)) for key in self.get_option("facts")),
            "code": dict((part, tree_digest(os.path.join(COLLECTION, part))) for part in CODE_FOLDERS),
            "paths": dict((path, tree_digest(path)) for path in self.get_option("paths") if path),
        }
        return [hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode("utf-8")).hexdigest()]
