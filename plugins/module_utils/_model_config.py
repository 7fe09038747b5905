# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Static validation of a Triton Inference Server model repository: the validator and its entry point.

The rules follow Triton's documented behaviour (model_repository.md, model_configuration.md, ensemble docs and the
comments of model_config.proto) and were checked against a real tritonserver 2.51.0: for every rule Triton enforces,
the verdict here is the verdict Triton reaches when it loads the repository. A few extra findings catch mistakes that
Triton accepts but that break serving; they are documented in docs/modules.md.

RepositoryValidator walks the repository and reads each config; the checks live by area in the mixins it is made of:
_model_config_backends (versions, backends, model files, instance groups), _model_config_tensors (fields, tensors,
warmup), _model_config_batching (schedulers, batch inputs and outputs) and _model_config_ensembles. Parsing and
locations are in _model_config_parse, the per-model result in _model_config_report.

Private to this collection: no stable API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.gpufleet.triton.plugins.module_utils._model_config_backends import (
    DEFAULT_BACKENDS,
    BackendChecks,
)
from ansible_collections.gpufleet.triton.plugins.module_utils._model_config_batching import BatchingChecks
from ansible_collections.gpufleet.triton.plugins.module_utils._model_config_ensembles import EnsembleChecks
from ansible_collections.gpufleet.triton.plugins.module_utils._model_config_parse import (
    Locator,
    MissingSchemaError,
    finding,
    load_schema,
    parse_config_text,
)
from ansible_collections.gpufleet.triton.plugins.module_utils._model_config_report import ModelReport, printable
from ansible_collections.gpufleet.triton.plugins.module_utils._model_config_tensors import TensorChecks
from ansible_collections.gpufleet.triton.plugins.module_utils._regular_file import read_regular

# What the modules and tests import from here.
__all__ = [
    "DEFAULT_BACKENDS",
    "MissingSchemaError",
    "ModelReport",
    "RepositoryValidator",
    "load_schema",
    "parse_config_text",
    "validate_repository",
]


class RepositoryValidator(BackendChecks, TensorChecks, BatchingChecks, EnsembleChecks):
    """Judges every model directory of a repository the way Triton would when it loads it."""

    def __init__(
        self, path, backends=None, gpu_count=None, strict=False, models=None, return_config=True, fallback_path=None
    ):
        self.path = os.path.abspath(path)
        self.fallback_path = os.path.abspath(fallback_path) if fallback_path else None
        self._lent = {}  # model name -> directory under fallback_path, for the names path lacks
        self.dependents = []
        self.already_invalid = set()  # dependents that do not load without the change either
        self.return_config = return_config
        self.backends = list(DEFAULT_BACKENDS if backends is None else backends)
        self.gpu_count = gpu_count
        self.strict = strict
        self.only = list(dict.fromkeys(models)) if models else None  # a name given twice is judged and reported once
        self.repo_errors = []
        self.reports = {}
        self._pb2 = load_schema()[0]
        self._enums = {}
        self._compiled = {}  # model.py source -> outcome of compiling it

    def _enum_name(self, enum_type, value):
        names = self._enums.get(enum_type.full_name)
        if names is None:
            names = dict((v.number, v.name) for v in enum_type.values)
            self._enums[enum_type.full_name] = names
        return names.get(value, str(value))

    def _dtype(self, value):
        return self._enum_name(self._pb2.DataType.DESCRIPTOR, value)

    def _model_dirs(self, folder, label):
        """The sorted sub-folder names of a repository; None (and a repository error naming it) when unreadable."""
        if not os.path.isdir(folder):
            self.repo_errors.append(finding("%s %s does not exist or is not a directory" % (label, folder)))
            return None
        try:
            entries = sorted(os.listdir(folder))
        except OSError as exc:
            self.repo_errors.append(finding("cannot list %s %s: %s" % (label, folder, exc), folder))
            return None
        return [e for e in entries if os.path.isdir(os.path.join(folder, e))]

    def run(self):
        dirs = self._model_dirs(self.path, "model repository")
        if dirs is None:
            return self.result()
        if self.fallback_path is not None:
            # path's own folders shadow the fallback's
            lent = self._model_dirs(self.fallback_path, "fallback repository") or []
            self._lent = dict((e, os.path.join(self.fallback_path, e)) for e in lent if e not in dirs)
        available = set(dirs) | set(self._lent)
        if self.only is not None:
            for name in self.only:
                if name not in dirs:
                    self.repo_errors.append(
                        finding("model '%s' is not in repository %s" % (name, self.path), self.path)
                    )
            start = [n for n in self.only if n in dirs]
        else:
            start = dirs
        self._closure(start, available)
        self.dependents = self._lent_dependents()
        for name in sorted(self.reports):
            report = self.reports[name]
            if report.platform == "ensemble" and report.config is not None:
                self._check_ensemble(report)
        self._check_cycles_and_dependencies()
        if self.dependents:
            self._mark_already_invalid()
        return self.result()

    def _mark_already_invalid(self):
        """Note the fallback ensembles that do not load without the change either: not the change's doing.

        Otherwise one broken model an operator left in the live repository would block every change to the models it
        uses. They stay invalid in their own entry; only the overall verdict leaves them out."""
        before = RepositoryValidator(
            self.fallback_path,
            backends=self.backends,
            gpu_count=self.gpu_count,
            strict=self.strict,
            models=self.dependents,
            return_config=False,
        )
        before.run()
        for name in self.dependents:
            old = before.reports.get(name)
            if old is not None and not old.valid:
                self.already_invalid.add(name)

    def _lent_dependents(self):
        """Ensembles of the fallback repository that use a judged model of path, directly or through other ensembles.

        A changed model can break an ensemble that did not change; these are judged and reported too.
        """
        if not self._lent:
            return []
        uses = {}
        for name, mdir in self._lent.items():
            try:
                text = read_regular(os.path.join(mdir, "config.pbtxt")).decode("utf-8", "replace")
            except (IOError, OSError):
                continue
            if "ensemble_scheduling" not in text:
                continue  # not an ensemble: no need to parse it
            config, err = parse_config_text(text)
            if err is None and config.HasField("ensemble_scheduling"):
                uses[name] = set(s.model_name for s in config.ensemble_scheduling.step if s.model_name)
        # what is judged so far: path's models, then the ensembles found to use them (kept as one set, not rebuilt per
        # name: a chain of hundreds of ensembles made that cubic)
        reached = set(n for n in self.reports if n not in self._lent)
        found = []
        grew = True
        while grew:
            grew = False
            for name in sorted(uses):
                if name not in reached and uses[name] & reached:
                    found.append(name)
                    reached.add(name)
                    grew = True
        self._closure(found, set(self.reports) | set(self._lent))
        return sorted(found)

    def _closure(self, names, available):
        """The named models plus every model their ensembles use (read lazily, only the configs needed)."""
        seen = set()
        todo = list(names)
        while todo:
            name = todo.pop()
            if name in seen or name not in available:
                continue
            seen.add(name)
            report = self._check_model(name)
            self.reports[name] = report
            todo.extend(report.dependencies)
        return seen

    def result(self):
        if self.only is not None:
            selected = list(self.only) + [n for n in self.dependents if n not in self.only]
        else:
            selected = sorted(self.reports)
        models = []
        for name in selected:
            if name in self.reports:
                item = self.reports[name].as_dict(with_config=self.return_config)
                config = item.pop("config", None)
                item = printable(item)  # the config is protobuf's, valid UTF-8 already
                if self.return_config:
                    item["config"] = config
                models.append(item)
        for item in models:
            if item["name"] in self.dependents:
                item["already_invalid"] = item["name"] in self.already_invalid
        valid = not self.repo_errors and all(m["valid"] or m.get("already_invalid") for m in models)
        result = {"valid": valid, "repository": self.path, "errors": printable(self.repo_errors), "models": models}
        if self.fallback_path is not None:
            result["fallback_repository"] = self.fallback_path
        return result

    def _check_model(self, name):
        if name in self.reports:
            return self.reports[name]
        mdir = self._lent.get(name) or os.path.join(self.path, name)
        report = ModelReport(name, mdir)
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            # Not a name Triton can give a model (its config names models with UTF-8 strings); it used to crash the
            # module where the name is copied into the parsed config.
            report.error(
                "model folder name '%s' is not valid UTF-8: a model name is a UTF-8 string (rename the folder)"
                % printable(name),
                file=mdir,
            )
            return report
        self._read_config(report)
        self._scan_versions(report)
        if report.config is not None:
            self._resolve_backend(report)
            if report.errors:
                return report
            self._check_fields(report)
            self._served_versions(report)
            self._check_model_files(report)
            self._check_llm_backend_files(report)
        return report

    def _read_config(self, report):
        cfg = report.config_file
        if not os.path.isfile(cfg):
            if self.strict:
                report.error("failed to open text file for read %s: config.pbtxt is required (strict)" % cfg, file=cfg)
                return
            report.auto_completed = True
            report.config = self._pb2.ModelConfig()
            report.text = ""
            report.locator = Locator("")
            return
        report.has_config = True
        raw = report.read_bytes(cfg)
        if raw is None:
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            report.error("config.pbtxt is not valid UTF-8: %s" % exc, file=cfg)
            return
        report.text = text
        report.locator = Locator(text)
        config, err = parse_config_text(text)
        if err is not None:
            err["message"] = "Error parsing text-format inference.ModelConfig: %s:%s: %s" % (
                err.get("line"),
                err.get("column"),
                err["message"],
            )
            err["file"] = cfg
            report.errors.append(err)
            return
        report.config = config
        if not config.name:
            config.name = report.name
        elif config.name != report.name:
            report.error(
                "unexpected directory name '%s' for model '%s', directory name must equal model name"
                % (report.name, config.name),
                where=("name",),
            )
        if config.HasField("ensemble_scheduling"):
            report.dependencies = sorted(set(s.model_name for s in config.ensemble_scheduling.step if s.model_name))


def validate_repository(
    path, backends=None, gpu_count=None, strict=False, models=None, return_config=True, fallback_path=None
):
    """Validate a model repository. Raises MissingSchemaError when protobuf/tritonclient are not importable."""
    return RepositoryValidator(
        path,
        backends=backends,
        gpu_count=gpu_count,
        strict=strict,
        models=models,
        return_config=return_config,
        fallback_path=fallback_path,
    ).run()
