# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ModelReport: what the validator learns about one model directory, and its entry in the module's result.

Private to this collection: no stable API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.gpufleet.triton.plugins.module_utils._model_config_parse import config_to_dict, finding
from ansible_collections.gpufleet.triton.plugins.module_utils._regular_file import read_regular


def printable(value):
    """value with every string made valid UTF-8: a file name that is not UTF-8 comes from os.listdir with surrogate
    escapes, which JSON carries but Ansible refuses in a module's result; its bytes are shown as \\xNN instead."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            try:
                raw = value.encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:  # a lone surrogate of another origin
                raw = value.encode("utf-8", "backslashreplace")
            return raw.decode("utf-8", "backslashreplace")
    if isinstance(value, dict):
        return dict((printable(k), printable(v)) for k, v in value.items())
    if isinstance(value, list):
        return [printable(v) for v in value]
    return value


class ModelReport:
    """What the validator learns about one model directory."""

    def __init__(self, name, path):
        self.name = name
        self.path = path
        self.config_file = os.path.join(path, "config.pbtxt")
        self.has_config = False
        self.text = None
        self.locator = None
        self.config = None  # ModelConfig message, or None when missing/unparsable
        self.auto_completed = False
        self.platform = ""
        self.backend = ""
        self.versions = []
        self.served_versions = []
        self.errors = []
        self.warnings = []
        self.dependencies = []
        # Set by the findings Triton loads the model with but that fail any ensemble over it (its ensemble check maps
        # the member's outputs by name and reads tensor types by name).
        self.fails_ensembles = False

    def _where(self, path):
        if not path or self.locator is None:
            return None, None
        return self.locator.find(*path)

    def read_bytes(self, path, limit=-1):
        """The bytes of a file of the model (at most limit), or None once "cannot read" is reported."""
        try:
            return read_regular(path, limit)
        except (IOError, OSError) as exc:
            self.error("cannot read %s: %s" % (path, exc), file=path)
            return None

    def error(self, message, where=None, file=None, loads_anyway=False):
        """An error-level finding; loads_anyway: Triton loads the model all the same, but it cannot serve as its
        config says (two tensors of one name), so the module still fails it."""
        line, col = self._where(where)
        item = finding(message, file or (self.config_file if self.has_config else self.path), line, col)
        if loads_anyway:
            item["loads_anyway"] = True
        self.errors.append(item)

    def warn(self, message, where=None, file=None):
        line, col = self._where(where)
        self.warnings.append(finding(message, file or (self.config_file if self.has_config else self.path), line, col))

    @property
    def valid(self):
        return not self.errors

    @property
    def loads(self):
        """Whether Triton would load the model (every error, if any, is one Triton lets through)."""
        return all(e.get("loads_anyway") for e in self.errors)

    def as_dict(self, with_config=True):
        """The model's entry of the module's result; without `config` when with_config is false."""
        item = {
            "name": self.name,
            "path": self.path,
            "valid": self.valid,
            "loads": self.loads,
            "platform": self.platform,
            "backend": self.backend,
            "versions": self.versions,
            "served_versions": self.served_versions,
            "auto_complete": self.auto_completed,
            "config": None,
            "errors": self.errors,
            "warnings": self.warnings,
        }
        if not with_config:
            del item["config"]
        elif self.config is not None:
            item["config"] = config_to_dict(self.config)
        return item
