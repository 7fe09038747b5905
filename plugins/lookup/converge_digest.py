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
  - Each file enters with its path relative to the folder given and its mode. Files up to 1 MiB below O(paths) enter
    by content; larger ones by size and modification time, so that multi-gigabyte model weights are not read on every
    run. The collection's files all enter by content.
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

# this file is <collection>/plugins/lookup/converge_digest.py
COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CODE_FOLDERS = ("roles", "plugins", "playbooks")
CONTENT_LIMIT = 1024 * 1024  # bytes: larger files below O(paths) enter by size and modification time


def tree_digest(top, content_limit=None):
    """sha256 (hex) of the files at or below top: each one's path relative to top, mode, and the sha256 of its content
    (up to content_limit bytes; larger files: size and modification time). Compiled Python is left out."""
    digest = hashlib.sha256()
    if not os.path.exists(top):
        digest.update(b"absent\n")
        return digest.hexdigest()
    files = [top] if not os.path.isdir(top) else []
    for folder, subfolders, names in os.walk(top):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        files.extend(os.path.join(folder, name) for name in sorted(names) if not name.endswith(".pyc"))
    for path in files:
        st = os.stat(path)
        if content_limit is None or st.st_size <= content_limit:
            with open(path, "rb") as handle:
                content = hashlib.sha256(handle.read()).hexdigest()
        else:
            content = "size %d mtime %d" % (st.st_size, st.st_mtime_ns)
        digest.update(("%s %o %s\n" % (os.path.relpath(path, top), st.st_mode & 0o7777, content)).encode("utf-8"))
    return digest.hexdigest()


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
            "paths": dict((path, tree_digest(path, CONTENT_LIMIT)) for path in self.get_option("paths") if path),
        }
        return [hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode("utf-8")).hexdigest()]
