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
    collection's roles and plugins (its code), and the files below O(paths) on the controller (for example the model
    repository that is deployed to the nodes).
  - Files up to 1 MiB below O(paths) are digested by content; larger ones by size and modification time, so that
    multi-gigabyte model weights are not read on every run.
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
  description: One sha256, 64 hexadecimal digits.
  type: list
  elements: str
"""

import hashlib
import json
import os

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SMALL = 1024 * 1024


def _digest_tree(digest, top, content_limit):
    if not os.path.exists(top):
        digest.update(("absent %s\n" % top).encode("utf-8"))
        return
    entries = [top] if not os.path.isdir(top) else []
    for root, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        entries.extend(os.path.join(root, name) for name in sorted(files) if not name.endswith(".pyc"))
    for path in entries:
        st = os.stat(path)
        if st.st_size <= content_limit:
            with open(path, "rb") as handle:
                what = hashlib.sha256(handle.read()).hexdigest()
        else:
            what = "%d %d" % (st.st_size, st.st_mtime_ns)
        digest.update(("%s %o %s\n" % (os.path.relpath(path, top), st.st_mode & 0o7777, what)).encode("utf-8"))


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        variables = variables or {}
        prefixes = tuple(self.get_option("prefixes"))
        values = {}
        for name in sorted(n for n in variables if n.startswith(prefixes)):
            try:
                values[name] = self._templar.template(variables[name])
            except AnsibleError as exc:
                values[name] = "<cannot template: %s>" % exc.message
        facts = variables.get("ansible_facts") or {}
        inputs = {
            "variables": values,
            "facts": dict((key, facts.get(key)) for key in self.get_option("facts")),
        }
        digest = hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode("utf-8"))
        for part in ("roles", "plugins", "playbooks"):
            digest.update(("code %s\n" % part).encode("utf-8"))
            _digest_tree(digest, os.path.join(COLLECTION, part), float("inf"))
        for path in sorted(p for p in self.get_option("paths") if p):
            digest.update(("path %s\n" % path).encode("utf-8"))
            _digest_tree(digest, path, SMALL)
        return [digest.hexdigest()]
