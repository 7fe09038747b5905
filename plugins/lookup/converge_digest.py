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
    is the same on every run. A mapping whose keys are of several types (V(1) and V(one)) enters with each key
    written with its type.
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
    description:
      - Controller files or folders that enter the digest (empty strings are ignored). A folder enters by its files
        (links followed), a file by its content.
      - A path that does not exist, or is neither a file nor a folder (a FIFO, a socket, a device), fails the lookup
        naming it.
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
import stat

from ansible.errors import AnsibleError, AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.gpufleet.triton.plugins.module_utils._file_digest import file_sha256
from ansible_collections.gpufleet.triton.plugins.module_utils._tree_digest import REMEMBER_FROM, tree_digest

# this file is <collection>/plugins/lookup/converge_digest.py
COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CODE_FOLDERS = ("roles", "plugins", "playbooks")
EXPECTED = "expected a file or a folder on the controller"


def _name(path):
    """A path for a message: tree_digest walks in bytes."""
    return os.fsdecode(path) if isinstance(path, bytes) else path


def path_digest(path):
    """sha256 (hex) of a path the task gave: a folder's files, or a file's content. Anything else fails: reading a
    FIFO or a device would not end, a socket has no content, and a missing path would digest as an empty folder."""
    if "\0" in path:
        raise AnsibleLookupError("converge_digest: paths: %r holds a NUL byte; %s" % (path, EXPECTED))
    try:
        st = os.stat(path)
    except OSError as exc:
        raise AnsibleLookupError("converge_digest: paths: %s: %s; %s" % (path, exc.strerror, EXPECTED)) from None
    try:
        if stat.S_ISDIR(st.st_mode):
            return tree_digest(path)
        if stat.S_ISREG(st.st_mode):
            return file_sha256(path, remember=st.st_size >= REMEMBER_FROM)[0]
    except OSError as exc:  # a file below path that cannot be read
        raise AnsibleLookupError(
            "converge_digest: paths: cannot read %s (in %s): %s" % (_name(exc.filename), path, exc.strerror)
        ) from None
    raise AnsibleLookupError("converge_digest: paths: %s is neither a file nor a folder; %s" % (path, EXPECTED))


def code_digest(part):
    """sha256 (hex) of one of this collection's code folders (a missing one digests as empty)."""
    try:
        return tree_digest(os.path.join(COLLECTION, part))
    except OSError as exc:
        raise AnsibleLookupError(
            "converge_digest: cannot read %s of this collection's code: %s" % (_name(exc.filename), exc.strerror)
        ) from None


def _key(key):
    """A mapping key as a string with its type, for mappings whose keys json.dumps cannot sort (1 and 'one')."""
    if isinstance(key, str):
        return key
    for kind in (bool, int, float):
        if isinstance(key, kind):
            return "%s:%r" % (kind.__name__, kind(key))
    return "%s:%s" % (type(key).__name__, key)


def _typed_keys(value):
    if isinstance(value, dict):
        return dict((_key(k), _typed_keys(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_typed_keys(v) for v in value]
    return value


def _dumps(inputs):
    try:
        return json.dumps(inputs, sort_keys=True, default=str)
    except TypeError:  # keys of several types; inputs that json.dumps takes keep the digest they always had
        return json.dumps(_typed_keys(inputs), sort_keys=True, default=str)


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
        facts = variables.get("ansible_facts")
        facts = facts if isinstance(facts, dict) else {}
        inputs = {
            "variables": values,
            "facts": dict((key, facts.get(key)) for key in self.get_option("facts")),
            "code": dict((part, code_digest(part)) for part in CODE_FOLDERS),
            "paths": dict((path, path_digest(path)) for path in self.get_option("paths") if path),
        }
        return [hashlib.sha256(_dumps(inputs).encode("utf-8")).hexdigest()]
