# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Static validation of a Triton Inference Server model repository.

The rules follow Triton's documented behaviour (model_repository.md, model_configuration.md, ensemble docs and the
comments of model_config.proto) and were checked against a real tritonserver 2.51.0: for every rule Triton enforces,
the verdict here is the verdict Triton reaches when it loads the repository. A few extra findings catch mistakes that
Triton accepts but that break serving; they are documented in docs/modules.md.

config.pbtxt is parsed with Triton's own schema (inference.ModelConfig, compiled into tritonclient as
tritonclient/grpc/model_config_pb2.py) through protobuf's text_format; parse errors are reported with libprotobuf's
line:column and wording (see _textproto).

Private to this collection: no stable API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math
import os
import re
import sys

from ansible_collections.gpufleet.triton.plugins.module_utils._textproto import Locator, cpp_parse_error, fast_parse

PB2_MODULE = "tritonclient.grpc.model_config_pb2"

# Backends shipped in the NGC nvcr.io/nvidia/tritonserver:24.10-py3 image (/opt/tritonserver/backends).
DEFAULT_BACKENDS = [
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
]

# platform -> backend that serves it (model_configuration.md, "Platform and backend").
PLATFORM_BACKEND = {
    "tensorrt_plan": "tensorrt",
    "tensorflow_graphdef": "tensorflow",
    "tensorflow_savedmodel": "tensorflow",
    "onnxruntime_onnx": "onnxruntime",
    "pytorch_libtorch": "pytorch",
}
PLATFORM_DEFAULT_FILE = {
    "tensorrt_plan": ["model.plan"],
    "tensorflow_graphdef": ["model.graphdef"],
    "tensorflow_savedmodel": ["model.savedmodel"],
    "onnxruntime_onnx": ["model.onnx"],
    "pytorch_libtorch": ["model.pt"],
}
# backend -> default model file(s) in a version directory (any of them is enough).
BACKEND_DEFAULT_FILE = {
    "python": ["model.py"],
    "onnxruntime": ["model.onnx"],
    "pytorch": ["model.pt"],
    "tensorrt": ["model.plan"],
    "tensorflow": ["model.graphdef", "model.savedmodel"],
    "openvino": ["model.xml"],
    "dali": ["model.dali"],
    "fil": ["xgboost.model", "xgboost.json", "model.txt", "checkpoint.tl", "model.tl"],
}
# Files auto-complete recognises when config.pbtxt names no backend/platform, in Triton's order.
AUTODETECT_FILES = [
    ("model.plan", "tensorrt"),
    ("model.savedmodel", "tensorflow"),
    ("model.graphdef", "tensorflow"),
    ("model.onnx", "onnxruntime"),
    ("model.pt", "pytorch"),
    ("model.py", "python"),
    ("model.xml", "openvino"),
]
# Backends that need no model file (Triton's example backends).
NO_FILE_BACKENDS = ("identity", "repeat", "square")

BATCH_INPUT_KINDS_WITH_SOURCE = (
    "BATCH_ELEMENT_COUNT",
    "BATCH_ACCUMULATED_ELEMENT_COUNT",
    "BATCH_ACCUMULATED_ELEMENT_COUNT_WITH_ZERO",
    "BATCH_MAX_ELEMENT_COUNT_AS_SHAPE",
    "BATCH_ITEM_SHAPE",
    "BATCH_ITEM_SHAPE_FLATTEN",
)
# More instances of one group than this is a typo (each instance is a process or a copy of the model).
MAX_INSTANCES = 1024
# Triton 2.51 allocates a slot per candidate sequence up front: 2**31 - 1 takes the server down.
MAX_CANDIDATE_SEQUENCES = 1 << 20
# The sequence batcher allocates per batch slot at load: a larger max_batch_size is a typo that stalls or kills it.
MAX_SEQUENCE_BATCH = 1 << 20
CORRID_TYPES = ("TYPE_UINT64", "TYPE_INT64", "TYPE_UINT32", "TYPE_INT32", "TYPE_STRING")
FALSE_TRUE_FIELDS = ("int32_false_true", "fp32_false_true", "bool_false_true")


class MissingSchemaError(Exception):
    """protobuf or tritonclient (which ships Triton's compiled model_config.proto) is not importable."""


_SCHEMA = {}


def load_schema():
    """Return (model_config_pb2, text_format, json_format), importing them once.

    `import tritonclient.grpc.model_config_pb2` runs tritonclient/grpc/__init__.py, which needs grpcio; the module
    file itself only needs protobuf, so when grpc is absent the file is loaded by path under its own name."""
    if _SCHEMA:
        return _SCHEMA["pb2"], _SCHEMA["text_format"], _SCHEMA["json_format"]
    try:
        from google.protobuf import json_format, text_format
    except ImportError as exc:
        raise MissingSchemaError("protobuf", exc) from exc
    pb2 = sys.modules.get(PB2_MODULE)
    if pb2 is None:
        try:
            import importlib
            import importlib.util

            spec = importlib.util.find_spec("tritonclient")
        except (ImportError, ValueError) as exc:
            raise MissingSchemaError("tritonclient", exc) from exc
        if spec is None or not spec.submodule_search_locations:
            raise MissingSchemaError("tritonclient", ImportError("No module named 'tritonclient'"))
        path = None
        for base in spec.submodule_search_locations:
            candidate = os.path.join(base, "grpc", "model_config_pb2.py")
            if os.path.isfile(candidate):
                path = candidate
                break
        if path is None:
            raise MissingSchemaError(
                "tritonclient", ImportError("tritonclient has no grpc/model_config_pb2.py (install tritonclient[grpc])")
            )
        try:
            file_spec = importlib.util.spec_from_file_location(PB2_MODULE, path)
            pb2 = importlib.util.module_from_spec(file_spec)
            file_spec.loader.exec_module(pb2)
        except Exception as exc:  # protobuf runtime too old/new for the generated code
            raise MissingSchemaError("tritonclient", exc) from exc
        sys.modules[PB2_MODULE] = pb2
    _SCHEMA.update(pb2=pb2, text_format=text_format, json_format=json_format)
    return pb2, text_format, json_format


def _finding(message, file=None, line=None, column=None):
    item = {"message": message}
    if file is not None:
        item["file"] = file
    if line is not None:
        item["line"] = line
    if column is not None:
        item["column"] = column
    return item


def parse_config_text(text, type_name="inference.ModelConfig"):
    """Parse config.pbtxt text. Returns (ModelConfig or None, error dict without 'file' or None)."""
    pb2, text_format, _json = load_schema()
    msg = pb2.ModelConfig()
    if fast_parse(text, msg):
        return msg, None
    msg = pb2.ModelConfig()  # text_format is the reference for everything fast_parse is not sure of
    try:
        text_format.Parse(text, msg)
    except text_format.ParseError as exc:
        raw = str(exc)
        py_line, py_col = exc.GetLine(), exc.GetColumn()
        if py_line is not None:
            prefix = "%s:%s : " % (py_line, py_col) if py_col is not None else "%s : " % py_line
            if raw.startswith(prefix):
                raw = raw[len(prefix) :]
        line, col, message = cpp_parse_error(text, py_line, py_col, raw, type_name)
        return None, _finding(message, line=line, column=col)
    except (ValueError, TypeError) as exc:
        # An enum given as a number beyond 64 bits escapes ParseError in protobuf's Python parser; libprotobuf
        # reports it as "Integer out of range (N)" at the number.
        for number, line, col in _integer_literals(text):
            if int(number) > 0xFFFFFFFFFFFFFFFF:
                return None, _finding("Integer out of range (%s)" % number, line=line, column=col)
        return None, _finding("failed to parse the text proto: %s" % exc)
    return msg, None


_INTEGER_RE = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|(?<![\w.])([0-9]+)(?![\w.])')


def _integer_literals(text):
    """(digits, 1-based line, 1-based column) of each decimal integer literal outside strings and comments."""
    for lineno, line in enumerate(text.splitlines(), 1):
        for match in _INTEGER_RE.finditer(line):
            if match.group(1):
                yield match.group(1), lineno, match.start(1) + 1


# FieldDescriptor.cpp_type values (descriptor.h) used by the JSON mapping below.
_CPPTYPE_INT64, _CPPTYPE_UINT64, _CPPTYPE_DOUBLE, _CPPTYPE_FLOAT, _CPPTYPE_ENUM, _CPPTYPE_MESSAGE = 2, 4, 5, 6, 8, 10
_SINGULAR, _REPEATED, _MAP = 0, 1, 2
_JSON_FIELDS = {}
_JSON_PLAIN = {}


def _identity(value):
    return value


def _json_value(field):
    """A function turning one value of `field` into what json_format.MessageToDict puts in its dict."""
    cpp_type = field.cpp_type
    if cpp_type == _CPPTYPE_MESSAGE:
        return config_to_dict
    if cpp_type in (_CPPTYPE_INT64, _CPPTYPE_UINT64):
        return str
    if cpp_type == _CPPTYPE_ENUM:
        if field.enum_type.full_name == "google.protobuf.NullValue":
            return lambda value: None
        names = dict((v.number, v.name) for v in field.enum_type.values)
        return lambda value: names.get(value, value)  # open enum: an unknown number stays a number
    if cpp_type in (_CPPTYPE_FLOAT, _CPPTYPE_DOUBLE):
        from google.protobuf.internal.type_checkers import ToShortestFloat

        shortest = cpp_type == _CPPTYPE_FLOAT

        def conv(value):
            if math.isinf(value):
                return "Infinity" if value > 0 else "-Infinity"
            if math.isnan(value):
                return "NaN"
            return ToShortestFloat(value) if shortest else value

        return conv
    return _identity  # int32, uint32, bool, string (bytes never get here: see _plain_message)


def _json_field(field):
    """(mode, converter) of `field` for config_to_dict, computed once per field."""
    plan = _JSON_FIELDS.get(field.full_name)
    if plan is None:
        message_type = field.message_type
        if message_type is not None and message_type.GetOptions().map_entry:
            plan = (_MAP, _json_value(message_type.fields_by_name["value"]))
        elif field.is_repeated if hasattr(field, "is_repeated") else field.label == 3:
            plan = (_REPEATED, _json_value(field))
        else:
            plan = (_SINGULAR, _json_value(field))
        _JSON_FIELDS[field.full_name] = plan
    return plan


def _plain_message(descriptor):
    """Whether json_format maps messages of this type field by field (no well-known type, bytes or extension)."""
    plain = _JSON_PLAIN.get(descriptor.full_name)
    if plain is None:
        plain = (
            descriptor.file.package != "google.protobuf"
            and not descriptor.is_extendable
            and all(f.type != 12 for f in descriptor.fields)  # TYPE_BYTES
        )
        _JSON_PLAIN[descriptor.full_name] = plain
    return plain


def config_to_dict(message):
    """json_format.MessageToDict(message, preserving_proto_field_name=True), computed directly from ListFields().

    The same dict for Triton's ModelConfig (checked against MessageToDict by tests/unit/test_textproto_fast.py), several
    times faster: the JSON mapping of each field is looked up once per process. Messages this shortcut does not cover
    (well-known types, bytes, extensions) go to json_format."""
    if not _plain_message(message.DESCRIPTOR):
        return load_schema()[2].MessageToDict(message, preserving_proto_field_name=True)
    js = {}
    for field, value in message.ListFields():
        mode, conv = _json_field(field)
        if mode == _SINGULAR:
            js[field.name] = conv(value)
        elif mode == _REPEATED:
            js[field.name] = [conv(v) for v in value]
        else:
            js[field.name] = dict(
                (("true" if key else "false") if isinstance(key, bool) else str(key), conv(value[key])) for key in value
            )
    return js


_ASCII_DIGITS = re.compile(r"^[0-9]+$")
# Enum fields whose value Triton reads at load: a number that names no value fails the load there.
ENUMS_TRITON_READS = (("BatchInput", "kind"), ("BatchOutput", "kind"))

# Bytes per element of the fixed-size data types (a warmup or initial-state data file holds at least that many).
DTYPE_BYTES = {
    "TYPE_BOOL": 1,
    "TYPE_UINT8": 1,
    "TYPE_UINT16": 2,
    "TYPE_UINT32": 4,
    "TYPE_UINT64": 8,
    "TYPE_INT8": 1,
    "TYPE_INT16": 2,
    "TYPE_INT32": 4,
    "TYPE_INT64": 8,
    "TYPE_FP16": 2,
    "TYPE_FP32": 4,
    "TYPE_FP64": 8,
    "TYPE_BF16": 2,
}


def _repeated(fd):
    return fd.is_repeated if hasattr(type(fd), "is_repeated") else fd.label == fd.LABEL_REPEATED


def _dims_str(dims):
    return "[" + ",".join(str(d) for d in dims) + "]"


def _product(dims):
    total = 1
    for d in dims:
        total *= d
    return total


def _reshape_compatible(dims, shape):
    """Triton's rule: split both shapes at their variable (-1) dimensions; the number of variable dimensions and the
    element count of each fixed run between them must agree."""

    def runs(values):
        out = [1]
        for v in values:
            if v == -1:
                out.append(1)
            else:
                out[-1] *= v
        return out

    return runs(dims) == runs(shape)


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

    def error(self, message, where=None, file=None, loads_anyway=False):
        """An error-level finding; loads_anyway: Triton loads the model all the same, but it cannot serve as its
        config says (two tensors of one name), so the module still fails it."""
        line, col = self._where(where)
        item = _finding(message, file or (self.config_file if self.has_config else self.path), line, col)
        if loads_anyway:
            item["loads_anyway"] = True
        self.errors.append(item)

    def warn(self, message, where=None, file=None):
        line, col = self._where(where)
        self.warnings.append(_finding(message, file or (self.config_file if self.has_config else self.path), line, col))

    @property
    def valid(self):
        return not self.errors

    @property
    def loads(self):
        """Whether Triton would load the model (every error, if any, is one Triton lets through)."""
        return all(e.get("loads_anyway") for e in self.errors)

    def as_dict(self, json_format=None, with_config=True):
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


class RepositoryValidator:
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
        self.only = list(models) if models else None
        self.repo_errors = []
        self.reports = {}
        self._pb2, self._text_format, self._json_format = load_schema()
        self._enums = {}
        self._compiled = {}  # model.py source -> outcome of compiling it

    # -- helpers -----------------------------------------------------------------------------------------------
    def _enum_name(self, enum_type, value):
        names = self._enums.get(enum_type.full_name)
        if names is None:
            names = dict((v.number, v.name) for v in enum_type.values)
            self._enums[enum_type.full_name] = names
        return names.get(value, str(value))

    def _dtype(self, value):
        return self._enum_name(self._pb2.DataType.DESCRIPTOR, value)

    # -- entry point ---------------------------------------------------------------------------------------------
    def _model_dirs(self, folder, label):
        """The sorted sub-folder names of a repository; None (and a repository error naming it) when unreadable."""
        if not os.path.isdir(folder):
            self.repo_errors.append(_finding("%s %s does not exist or is not a directory" % (label, folder)))
            return None
        try:
            entries = sorted(os.listdir(folder))
        except OSError as exc:
            self.repo_errors.append(_finding("cannot list %s %s: %s" % (label, folder, exc), folder))
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
                        _finding("model '%s' is not in repository %s" % (name, self.path), self.path)
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
                with open(os.path.join(mdir, "config.pbtxt"), "rb") as f:
                    text = f.read().decode("utf-8", "replace")
            except (IOError, OSError):
                continue
            if "ensemble_scheduling" not in text:
                continue  # not an ensemble: no need to parse it
            config, err = parse_config_text(text)
            if err is None and config.HasField("ensemble_scheduling"):
                uses[name] = set(s.model_name for s in config.ensemble_scheduling.step if s.model_name)
        reached = set(n for n in self.reports if n not in self._lent)
        found = []
        grew = True
        while grew:
            grew = False
            for name in sorted(uses):
                if name not in found and uses[name] & (reached | set(found)):
                    found.append(name)
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
        models = [self.reports[n].as_dict(with_config=self.return_config) for n in selected if n in self.reports]
        for item in models:
            if item["name"] in self.dependents:
                item["already_invalid"] = item["name"] in self.already_invalid
        valid = not self.repo_errors and all(m["valid"] or m.get("already_invalid") for m in models)
        result = {"valid": valid, "repository": self.path, "errors": self.repo_errors, "models": models}
        if self.fallback_path is not None:
            result["fallback_repository"] = self.fallback_path
        return result

    # -- one model -----------------------------------------------------------------------------------------------
    def _check_model(self, name):
        if name in self.reports:
            return self.reports[name]
        mdir = self._lent.get(name) or os.path.join(self.path, name)
        report = ModelReport(name, mdir)
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
        try:
            with open(cfg, "rb") as f:
                raw = f.read()
        except (IOError, OSError) as exc:
            report.error("cannot read %s: %s" % (cfg, exc), file=cfg)
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

    def _scan_versions(self, report):
        versions = []
        try:
            entries = sorted(os.listdir(report.path))
        except OSError as exc:
            report.error("cannot list model directory %s: %s" % (report.path, exc), file=report.path)
            return
        for entry in entries:
            full = os.path.join(report.path, entry)
            if not os.path.isdir(full):
                continue
            if _ASCII_DIGITS.match(entry):  # str.isdigit() would take other scripts' digits, which Triton does not
                if len(entry) > 1 and entry[0] == "0":
                    report.warn(
                        "ignore version directory '%s' which contains leading zeros in its directory name" % entry,
                        file=full,
                    )
                    continue
                versions.append(int(entry))
            elif entry.startswith("-") and _ASCII_DIGITS.match(entry[1:]):
                # Triton 2.51 tries to load a negative version and never finishes (the server hangs).
                report.error(
                    "version directory '%s' is negative: Triton tries to load it and the load never completes" % entry,
                    file=full,
                )
            elif entry not in ("warmup", "initial_state"):  # the folders of warmup and initial-state data files
                report.warn(
                    "ignore version directory '%s' which fails to convert to integral number" % entry, file=full
                )
        report.versions = sorted(versions)

    def _resolve_backend(self, report):
        config = report.config
        platform, backend = config.platform, config.backend
        if platform == "ensemble":
            report.platform = "ensemble"
            if backend:
                report.warn("backend '%s' is ignored for an ensemble" % backend, where=("backend",))
            return
        if not backend and platform not in PLATFORM_BACKEND and config.default_model_filename == "model.py":
            backend = (
                "python"  # Triton takes the backend from a `model.<backend>`-style file name, whatever the platform
            )
        if not backend and not platform:
            # Triton's core fills the backend from the model files of the version directories, with auto-complete
            # off too (only a backend's own auto-complete, of inputs and outputs, is switched off).
            for fname, detected in AUTODETECT_FILES:
                if any(os.path.exists(os.path.join(report.path, str(v), fname)) for v in report.versions):
                    backend = detected
                    report.auto_completed = not self.strict  # the backend may then fill inputs and outputs
                    break
        if platform and platform not in PLATFORM_BACKEND:
            if not backend:
                report.error("unexpected platform type '%s' for %s" % (platform, report.name), where=("platform",))
                return
        if platform in PLATFORM_BACKEND and not backend:
            backend = PLATFORM_BACKEND[platform]
        elif (
            platform in PLATFORM_BACKEND
            and backend in PLATFORM_BACKEND.values()
            and backend != PLATFORM_BACKEND[platform]
        ):
            # a platform's backend named for another platform; python-based and custom backends may name any
            report.error(
                "unexpected 'platform' and 'backend' pair, got: %s, %s (platform %s is served by backend '%s')"
                % (platform, backend, platform, PLATFORM_BACKEND[platform]),
                where=("platform",),
            )
            return
        if not backend:
            report.error(
                "must specify 'platform' or 'backend' for '%s' (and no model file tells it)" % report.name,
                where=("name",) if report.has_config else None,
            )
            return
        report.platform = platform
        report.backend = backend
        if backend not in self.backends:
            report.error(
                "unable to find backend library for backend '%s' (available: %s)"
                % (backend, ", ".join(sorted(self.backends)) or "none"),
                where=("backend",) if config.backend else ("platform",),
            )

    def _served_versions(self, report):
        policy = report.config.version_policy
        which = policy.WhichOneof("policy_choice")
        versions = report.versions
        if which == "all":
            served = list(versions)
        elif which == "specific":
            served = sorted(set(v for v in policy.specific.versions if v in versions))
            # Triton loads the versions that are there; only when none is does a missing one fail the model.
            finding = report.warn if served else report.error
            for v in policy.specific.versions:
                if v not in versions:
                    finding(
                        "version %d is specified for model '%s', but the version directory is not present"
                        % (v, report.name),
                        where=("version_policy", "specific", str(v)),
                    )
        else:
            num = policy.latest.num_versions if which == "latest" else 1
            served = versions[-num:] if num > 0 else []
        report.served_versions = served
        if not served and not report.errors:
            report.error(
                "at least one version must be available under the version policy of model '%s'%s"
                % (report.name, "" if versions else " (no numeric version directory)"),
                where=("version_policy",) if which else None,
                file=report.config_file if which else report.path,
            )

    def _check_model_files(self, report):
        if report.platform == "ensemble" or report.backend in NO_FILE_BACKENDS:
            return
        config = report.config
        if config.default_model_filename:
            candidates = [config.default_model_filename]
        elif PLATFORM_BACKEND.get(report.platform) == report.backend:
            candidates = PLATFORM_DEFAULT_FILE[report.platform]
        else:
            candidates = BACKEND_DEFAULT_FILE.get(report.backend)
        if not candidates:
            return  # a custom backend: its model files are its own business
        for v in report.served_versions:
            vdir = os.path.join(report.path, str(v))
            present = [c for c in candidates if os.path.exists(os.path.join(vdir, c))]
            if not present:
                what = " or ".join("'%s'" % c for c in candidates)
                extra = ""
                if report.backend == "python":
                    extra = " (Triton hangs at start-up: the python stub waits forever for it)"
                report.error(
                    "model file %s not found in %s for backend '%s'%s" % (what, vdir, report.backend, extra),
                    file=os.path.join(vdir, candidates[0]),
                )
            elif report.backend == "python":
                self._check_python_source(report, os.path.join(vdir, present[0]))

    def _check_llm_backend_files(self, report):
        """What the vLLM and TensorRT-LLM backends read themselves (their documentation's rules; the lab's Triton has
        neither backend, so no server here can tell)."""
        if report.backend == "vllm":
            for v in report.served_versions:
                self._check_vllm_model_json(report, os.path.join(report.path, str(v), "model.json"))
        elif report.backend == "tensorrtllm":
            params = report.config.parameters
            engine = params["gpt_model_path"].string_value if "gpt_model_path" in params else ""
            if not engine:
                report.error(
                    "tensorrtllm model %s needs parameter 'gpt_model_path' (the folder of its TensorRT-LLM engines)"
                    % report.name,
                    where=("parameters",) if len(params) else ("backend",),
                )
            strategy = params["batching_strategy"].string_value if "batching_strategy" in params else ""
            if strategy and strategy not in ("inflight_fused_batching", "V1"):
                report.error(
                    "tensorrtllm parameter 'batching_strategy' of %s is '%s': inflight_fused_batching or V1"
                    % (report.name, strategy),
                    where=("parameters", '"batching_strategy"'),
                )

    def _check_vllm_model_json(self, report, path):
        """vLLM's model.json: a JSON object of engine arguments, `model` among them."""
        try:
            with open(path, "rb") as f:
                raw = f.read(1 << 20)
        except (IOError, OSError) as exc:
            report.error("vllm model %s needs %s: %s" % (report.name, path, exc), file=path)
            return
        try:
            args = json.loads(raw.decode("utf-8"))
        except ValueError as exc:
            report.error("%s is not JSON: %s" % (path, exc), file=path)
            return
        if not isinstance(args, dict):
            report.error("%s must hold a JSON object of vLLM engine arguments" % path, file=path)
            return
        if not isinstance(args.get("model"), str) or not args["model"]:
            report.error('%s must name the model: "model": "<Hugging Face ID or path>"' % path, file=path)
        share = args.get("gpu_memory_utilization")
        if share is not None and (isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1):
            report.error(
                "%s: gpu_memory_utilization is the share of GPU memory vLLM may take, above 0 and at most 1 (got %r)"
                % (path, share),
                file=path,
            )
        for key in ("tensor_parallel_size", "pipeline_parallel_size"):
            value = args.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                report.error("%s: %s must be a whole number >= 1 (got %r)" % (path, key, value), file=path)

    def _check_python_source(self, report, path):
        if os.path.isdir(path):
            return
        try:
            with open(path, "rb") as f:
                source = f.read()
        except (IOError, OSError) as exc:
            report.error("cannot read %s: %s" % (path, exc), file=path)
            return
        # Compiling is the costly part and its outcome depends on the source alone (the file name only labels it), so
        # identical sources (a model.py copied into every version, models generated from one template) compile once.
        outcome = self._compiled.get(source)
        if outcome is None:
            try:
                compile(source, path, "exec", dont_inherit=True)
                outcome = ()
            except SyntaxError as exc:
                outcome = ("syntax", exc.msg, exc.lineno, exc.offset)
            except (ValueError, TypeError) as exc:
                outcome = ("other", str(exc))
            self._compiled[source] = outcome
        if not outcome:
            return
        if outcome[0] == "syntax":
            _kind, msg, lineno, offset = outcome
            message = "SyntaxError: %s (%s, line %s)" % (msg, os.path.basename(path), lineno)
            finding = _finding(message, path, lineno, offset)
            # The -py3 image runs model.py with Python 3.10+; an older interpreter here may reject newer syntax.
            if sys.version_info >= (3, 10):
                report.errors.append(finding)
            else:
                report.warnings.append(finding)
        else:
            report.errors.append(_finding("%s cannot be compiled: %s" % (path, outcome[1]), path))

    # -- fields of one config -------------------------------------------------------------------------------------
    def _check_fields(self, report):
        config = report.config
        name = report.name
        if config.max_batch_size < 0:
            report.error("'max_batch_size' must be non-negative value for %s" % name, where=("max_batch_size",))
        for kind, tensors in (("input", config.input), ("output", config.output)):
            seen = {}
            for t in tensors:
                self._check_tensor(report, kind, t)
                if t.name:
                    if t.name in seen:
                        report.fails_ensembles = report.fails_ensembles or kind == "output"
                        report.error(
                            "model %s '%s' is declared more than once: Triton loads the model, but requests cannot "
                            "address two tensors of one name" % (kind, t.name),
                            where=(kind, '"%s"' % t.name, '"%s"' % t.name),
                            loads_anyway=True,
                        )
                    seen[t.name] = True
        if report.platform == "ensemble":
            if len(config.instance_group):
                report.error(
                    "instance group should not be specified for ensemble '%s'" % name, where=("instance_group",)
                )
            if not config.HasField("ensemble_scheduling"):
                report.error(
                    "ensemble scheduling must be set for ensemble %s whose platform is ensemble" % name,
                    where=("platform",),
                )
        elif config.HasField("ensemble_scheduling"):
            report.error(
                "ensemble scheduling cannot be set for model '%s' whose platform is not ensemble" % name,
                where=("ensemble_scheduling",),
            )
        self._check_enum_values(report, config, ())
        self._check_instance_groups(report)
        self._check_dynamic_batching(report)
        self._check_sequence_batching(report)
        self._check_batch_io(report)
        self._check_response_cache(report)
        self._check_repository_agents(report)
        self._check_warmup(report)
        self._check_runtime(report)
        for out in config.output:
            if out.label_filename:
                label = os.path.join(report.path, out.label_filename)
                if not os.path.isfile(label):
                    report.error(
                        "failed to open text file for read %s: label file of output '%s' not found" % (label, out.name),
                        where=("label_filename", '"%s"' % out.label_filename),
                    )

    def _check_tensor(self, report, kind, t):
        config = report.config
        where_name = (kind, '"%s"' % t.name) if t.name else (kind,)
        if not t.name:
            report.error("model %s must specify 'name' for %s" % (kind, report.name), where=(kind,))
            return
        if t.data_type == 0:
            report.error(
                "model %s '%s' must specify 'data_type' for %s" % (kind, t.name, report.name), where=where_name
            )
        if not len(t.dims):
            report.error("model %s '%s' must specify 'dims' for %s" % (kind, t.name, report.name), where=where_name)
        for d in t.dims:
            if d < 1 and d != -1:
                report.error(
                    "model %s '%s' dimension must be integer >= 1, or -1 to indicate a variable-size dimension for %s "
                    "(got %s)" % (kind, t.name, report.name, _dims_str(t.dims)),
                    where=(*where_name, "dims"),
                )
                break
        if t.HasField("reshape"):
            shape = list(t.reshape.shape)
            bad = [d for d in shape if d < 1 and d != -1]
            if bad:
                report.error(
                    "model %s '%s' reshape dimension must be integer >= 1, or -1 to indicate a variable-size dimension"
                    % (kind, t.name),
                    where=(*where_name, "reshape"),
                )
            elif len(t.dims) and not _reshape_compatible(list(t.dims), shape):
                report.error(
                    "model %s '%s' has different size for dims and reshape for %s (dims %s, reshape %s)"
                    % (kind, t.name, report.name, _dims_str(t.dims), _dims_str(shape)),
                    where=(*where_name, "reshape"),
                )
        if t.HasField("reshape") and not len(t.reshape.shape) and config.max_batch_size == 0:
            report.error(
                "model %s '%s' cannot have empty reshape for non-batching model as scalar tensors are not supported "
                "for %s" % (kind, t.name, report.name),
                where=(*where_name, "reshape"),
            )
        if t.is_shape_tensor and report.backend != "tensorrt":
            report.error(
                "shape tensors are only supported for TensorRT platform for %s (%s '%s')" % (report.name, kind, t.name),
                where=(*where_name, "is_shape_tensor"),
            )
        if t.is_non_linear_format_io and report.backend != "tensorrt":
            report.error(
                "Non-linear IO format is only supported for the TensorRT platform for %s (%s '%s')"
                % (report.name, kind, t.name),
                where=(*where_name, "is_non_linear_format_io"),
            )
        if kind == "input" and t.format in (1, 2):  # FORMAT_NHWC, FORMAT_NCHW
            if len(t.dims) != 3:
                report.error(
                    "model input NHWC/NCHW require 3 dims for %s (input '%s' has %d)"
                    % (report.name, t.name, len(t.dims)),
                    where=(*where_name, "format"),
                )
        if config.max_batch_size > 0 and len(t.dims) > 1 and t.dims[0] in (-1, config.max_batch_size):
            if not t.HasField("reshape") and report.platform != "ensemble":
                report.warn(
                    "model %s '%s' has dims %s and max_batch_size %d: Triton prepends the batch dimension itself, so "
                    "the first dimension looks like a second batch dimension (requests would need shape %s)"
                    % (kind, t.name, _dims_str(t.dims), config.max_batch_size, _dims_str([-1, *list(t.dims)])),
                    where=(*where_name, "dims"),
                )

    def _check_instance_groups(self, report):
        config = report.config
        kind_names = {0: "KIND_AUTO", 1: "KIND_GPU", 2: "KIND_CPU", 3: "KIND_MODEL"}
        for idx, group in enumerate(config.instance_group):
            gname = group.name or "%s_%d" % (report.name, idx)
            kind = kind_names.get(group.kind, str(group.kind))
            where = ("instance_group", '"%s"' % group.name) if group.name else ("instance_group",)
            if group.count < 1:
                report.warn(
                    "instance group %s of model %s has count %d: Triton starts 1 instance"
                    % (gname, report.name, group.count),
                    where=where,
                )
            elif group.count > MAX_INSTANCES:
                report.error(
                    "instance group %s of model %s has count %d: each instance is a process or a copy of the model in "
                    "memory; more than %d is a typo, not a plan" % (gname, report.name, group.count, MAX_INSTANCES),
                    where=(*where, "count"),
                )
            if kind not in kind_names.values():
                report.error(
                    "instance group %s of model %s has unexpected kind %s" % (gname, report.name, kind),
                    where=(*where, "kind"),
                )
            if len(group.profile) and report.backend != "tensorrt":
                report.error(
                    "instance group %s of model %s and platform specifies profile field which is only supported for "
                    "TensorRT models" % (gname, report.name),
                    where=(*where, "profile"),
                )
            if kind in ("KIND_CPU", "KIND_MODEL") and len(group.gpus):
                report.error(
                    "instance group %s of model %s has kind %s but specifies one or more GPUs"
                    % (gname, report.name, kind),
                    where=(*where, "gpus"),
                )
            for gpu in group.gpus:
                if gpu < 0 or (self.gpu_count is not None and gpu >= self.gpu_count):
                    report.error(
                        "instance group %s of model %s specifies invalid or unsupported gpu id %d%s"
                        % (gname, report.name, gpu, "" if self.gpu_count is None else " (%d GPUs)" % self.gpu_count),
                        where=(*where, "gpus"),
                    )
            if kind == "KIND_GPU" and self.gpu_count == 0:
                report.error(
                    "instance group %s of model %s has kind KIND_GPU but no GPUs are available" % (gname, report.name),
                    where=(*where, "kind"),
                )

    def _check_enum_values(self, report, message, where):
        """A number that names no value of its enum parses (the schema's enums are open) but fails in Triton."""
        for fd, value in message.ListFields():
            if fd.enum_type is not None and fd.containing_type.name != "ModelInstanceGroup":  # kind: checked there
                values = value if _repeated(fd) else [value]
                for v in values:
                    if fd.enum_type.values_by_number.get(v) is None:
                        loads = (fd.containing_type.name, fd.name) not in ENUMS_TRITON_READS
                        report.fails_ensembles = report.fails_ensembles or fd.enum_type.name == "DataType"
                        report.error(
                            "%s %d is not a value of %s for %s%s"
                            % (
                                fd.name,
                                v,
                                fd.enum_type.name,
                                report.name,
                                ": Triton loads the model, but it cannot serve as configured" if loads else "",
                            ),
                            where=(*where, fd.name),
                            loads_anyway=loads,
                        )
            elif fd.message_type is not None:
                if fd.message_type.GetOptions().map_entry:
                    items = value.values() if fd.message_type.fields_by_name["value"].message_type else []
                    for item in items:
                        self._check_enum_values(report, item, (*where, fd.name))
                else:
                    for item in value if _repeated(fd) else [value]:
                        self._check_enum_values(report, item, (*where, fd.name))

    def _check_repository_agents(self, report):
        config = report.config
        if config.HasField("model_repository_agents") and not len(config.model_repository_agents.agents):
            report.error(
                "model_repository_agents names no agent: tritonserver 2.51 dies (segmentation fault) on it, taking "
                "every model of the server down; remove the block or name an agent",
                where=("model_repository_agents",),
            )
        for agent in config.model_repository_agents.agents:
            if not agent.name:
                report.error("a repository agent of %s has no name" % report.name, where=("model_repository_agents",))

    def _check_response_cache(self, report):
        config = report.config
        if not config.response_cache.enable:
            return
        if config.model_transaction_policy.decoupled:
            report.error(
                "Response Cache does not currently support model %s with 'decoupled' transaction policy. Please "
                "disable the response cache." % report.name,
                where=("response_cache",),
            )
        if config.HasField("sequence_batching"):
            report.error(
                "Response Cache does not currently support model %s with sequence batching scheduler. Please disable "
                "the response cache." % report.name,
                where=("response_cache",),
            )

    def _check_warmup(self, report):
        """model_warmup runs each sample through the model at load: Triton checks it as it checks a request."""
        config = report.config
        inputs = dict((t.name, t) for t in config.input)
        declared = [t.name for t in config.input if not t.optional]
        for sample in config.model_warmup:
            label = sample.name or "(unnamed)"
            where = ("model_warmup", '"%s"' % sample.name) if sample.name else ("model_warmup",)
            if config.max_batch_size == 0 and sample.batch_size > 1:
                report.error(
                    "warmup sample '%s' has batch size %d for %s, max allowed is 0 (the model does not batch)"
                    % (label, sample.batch_size, report.name),
                    where=(*where, "batch_size"),
                )
            elif config.max_batch_size > 0 and sample.batch_size > config.max_batch_size:
                report.error(
                    "warmup sample '%s' has batch size %d for %s, max allowed is %d (tritonserver 2.51 may die on it)"
                    % (label, sample.batch_size, report.name, config.max_batch_size),
                    where=(*where, "batch_size"),
                )
            given = dict(sample.inputs)
            twice = sorted(set(n for n in declared if declared.count(n) > 1))
            if twice:
                report.error(
                    "warmup sample '%s' of %s cannot be run: input '%s' is declared more than once, Triton expects %d "
                    "inputs and a sample gives each name once" % (label, report.name, twice[0], len(declared)),
                    where=where,
                )
            for name, t in inputs.items():
                if name not in given and not t.optional:
                    report.error(
                        "warmup sample '%s' of %s has no data for required input '%s'" % (label, report.name, name),
                        where=where,
                    )
            for name, data in given.items():
                iwhere = (*where, '"%s"' % name)
                t = inputs.get(name)
                if t is None:
                    report.warn(
                        "warmup sample '%s' of %s has data for '%s', which is not an input of the model (ignored)"
                        % (label, report.name, name),
                        where=iwhere,
                    )
                    continue
                which = data.WhichOneof("input_data_type")
                if which is None:
                    report.error(
                        "warmup setting expects input '%s' to have input_data_type set (zero_data, random_data or "
                        "input_data_file) for %s" % (name, report.name),
                        where=iwhere,
                    )
                elif which == "input_data_file":
                    path = os.path.join(report.path, "warmup", data.input_data_file)
                    if not os.path.isfile(path):
                        report.error(
                            "failed to open text file for read %s: warmup data of input '%s' not found" % (path, name),
                            where=(*iwhere, "input_data_file"),
                        )
                    elif t.data_type == self._pb2.DataType.Value("TYPE_STRING"):
                        self._check_string_warmup_file(report, path, name, _product(data.dims), iwhere)
                    else:
                        self._check_data_file_size(
                            report, path, data, "warmup input '%s'" % name, (*iwhere, "input_data_file")
                        )
                if data.data_type != t.data_type:
                    report.error(
                        "warmup data of input '%s' is %s, but model %s expects %s"
                        % (name, self._dtype(data.data_type), report.name, self._dtype(t.data_type)),
                        where=iwhere,
                    )
                dims = list(t.dims)
                wdims = list(data.dims)
                fits = len(dims) == len(wdims) and all(w >= 1 and (d == -1 or d == w) for d, w in zip(dims, wdims))
                if not fits:
                    report.error(
                        "unexpected shape for warmup input '%s' of %s. Expected %s, got %s"
                        % (name, report.name, _dims_str(dims), _dims_str(wdims)),
                        where=(*iwhere, "dims"),
                    )

    def _check_data_file_size(self, report, path, data, what, where):
        """A fixed-size data file must hold at least one sample of the dims (Triton reads that many bytes)."""
        size = DTYPE_BYTES.get(self._dtype(data.data_type))
        if size is None or any(d < 1 for d in data.dims):
            return  # the type or shape is reported on its own
        needed = _product(data.dims) * size
        try:
            have = os.path.getsize(path)
        except OSError:
            return
        if have < needed:
            report.error(
                "%s of %s expects %d bytes, but the data file %s has only %d" % (what, report.name, needed, path, have),
                where=where,
            )

    def _check_string_warmup_file(self, report, path, name, expected, where):
        """A TYPE_STRING sample file holds the elements as Triton serializes them: a 4-byte little-endian length,
        then the bytes, for each element; Triton fails the sample unless there are exactly as many as the dims say."""
        try:
            with open(path, "rb") as f:
                raw = f.read(1 << 24)
        except (IOError, OSError) as exc:
            report.error("cannot read %s: %s" % (path, exc), file=path)
            return
        count, offset = 0, 0
        while offset + 4 <= len(raw):
            offset += 4 + int.from_bytes(raw[offset : offset + 4], "little")
            count += 1
        if offset != len(raw) or count != expected:
            report.error(
                "warmup data file %s of the TYPE_STRING input '%s' holds %s length-prefixed strings, expected %d"
                % (path, name, count if offset == len(raw) else "no whole number of", expected),
                where=(*where, "input_data_file"),
            )

    def _check_runtime(self, report):
        """A runtime library (`runtime: "lib....so"`) must be in the model's folders or be the backend's own."""
        runtime = report.config.runtime
        if not runtime.endswith(".so") or runtime == "libtriton_%s.so" % report.backend:
            return
        places = [report.path] + [os.path.join(report.path, str(v)) for v in report.versions]
        if not any(os.path.isfile(os.path.join(place, runtime)) for place in places):
            report.error(
                "unable to find backend library '%s' for model '%s' in the model's folders (runtime names a library "
                "that is neither there nor the backend's own libtriton_%s.so)" % (runtime, report.name, report.backend),
                where=("runtime",),
            )

    def _check_queue_policy(self, report, policy, where):
        if policy.default_timeout_microseconds < 0 or policy.max_queue_size < 0:
            report.error("queue policy values must be non-negative for %s" % report.name, where=where)

    def _check_dynamic_batching(self, report):
        config = report.config
        if not config.HasField("dynamic_batching"):
            return
        db = config.dynamic_batching
        where = ("dynamic_batching",)
        for size in db.preferred_batch_size:
            if size < 1:
                report.error(
                    "dynamic batching preferred size must be positive for %s" % report.name,
                    where=(*where, "preferred_batch_size"),
                )
            elif size > config.max_batch_size:
                report.error(
                    "dynamic batching preferred size must be <= max batch size for %s (preferred %d, max_batch_size %d)"
                    % (report.name, size, config.max_batch_size),
                    where=(*where, "preferred_batch_size"),
                )
        if db.priority_levels > 0:
            levels = db.priority_levels
            if not 1 <= db.default_priority_level <= levels:
                report.error(
                    "default priority level must be in range [1, %d] for %s (got %d)"
                    % (levels, report.name, db.default_priority_level),
                    where=where + (("default_priority_level",) if db.default_priority_level else ("priority_levels",)),
                )
            for level in db.priority_queue_policy:
                if not 1 <= level <= levels:
                    report.error(
                        "priority queue policy must have priority level in range [1, %d] for %s (got %d)"
                        % (levels, report.name, level),
                        where=(*where, "priority_queue_policy"),
                    )
        elif db.priority_queue_policy:
            report.warn(
                "priority_queue_policy is ignored because priority_levels is 0",
                where=(*where, "priority_queue_policy"),
            )
        if db.preserve_ordering:
            if db.priority_levels > 1:
                report.error(
                    "Only one priority level is allowed when 'preserve_ordering' is true for %s" % report.name,
                    where=(*where, "priority_levels"),
                )
            policies = [db.default_queue_policy] if db.HasField("default_queue_policy") else []
            policies += list(db.priority_queue_policy.values())
            delay = self._pb2.ModelQueuePolicy.TimeoutAction.Value("DELAY")
            if any(p.timeout_action == delay and p.default_timeout_microseconds != 0 for p in policies):
                report.error(
                    "Queue policy can not have DELAY as timeout action when 'preserve_ordering' is true for %s"
                    % report.name,
                    where=(*where, "timeout_action"),
                )

    def _check_sequence_batching(self, report):
        config = report.config
        if not config.HasField("sequence_batching"):
            return
        sb = config.sequence_batching
        where = ("sequence_batching",)
        seen_kinds = {}
        control_names = set()
        kind_desc = self._pb2.ModelSequenceBatching.Control.Kind.DESCRIPTOR
        for ci in sb.control_input:
            if not ci.name:
                report.error(
                    "sequence batching control tensor must have a name for %s" % report.name,
                    where=(*where, "control_input"),
                )
            cwhere = (*where, "control_input", '"%s"' % ci.name)
            if len(ci.control) > 1 or ci.name in control_names:
                report.error(
                    "sequence batching control tensor '%s' is specified for multiple control kinds for %s"
                    % (ci.name, report.name),
                    where=cwhere,
                )
            control_names.add(ci.name)
            for control in ci.control:
                kind = self._enum_name(kind_desc, control.kind)
                if kind in seen_kinds:
                    report.error(
                        "sequence batching specifies multiple %s tensors for %s" % (kind, report.name), where=cwhere
                    )
                seen_kinds[kind] = ci.name
                if kind == "CONTROL_SEQUENCE_CORRID":
                    dtype = self._dtype(control.data_type)
                    if dtype not in CORRID_TYPES:
                        report.error(
                            "unexpected data type for control CONTROL_SEQUENCE_CORRID for %s. Allowed data types are "
                            "TYPE_UINT64, TYPE_INT64, TYPE_UINT32, TYPE_INT32 and TYPE_STRING (got %s)"
                            % (report.name, dtype),
                            where=cwhere,
                        )
                elif kind in ("CONTROL_SEQUENCE_START", "CONTROL_SEQUENCE_END", "CONTROL_SEQUENCE_READY"):
                    given = [f for f in FALSE_TRUE_FIELDS if len(getattr(control, f))]
                    if len(given) != 1:
                        report.error(
                            "sequence batching must specify either 'int32_false_true', 'fp32_false_true' or "
                            "'bool_false_true' for %s for %s" % (kind, report.name),
                            where=cwhere,
                        )
                    elif len(getattr(control, given[0])) != 2:
                        report.error(
                            "sequence batching control '%s' must have exactly 2 entries for %s for %s"
                            % (given[0], kind, report.name),
                            where=(*cwhere, given[0]),
                        )
        names = {}
        for state in sb.state:
            swhere = (*where, "state")
            if not state.input_name or not state.output_name:
                report.warn(
                    "sequence batching state must specify 'input_name' and 'output_name' for %s" % report.name,
                    where=swhere,
                )
            if state.data_type == 0:
                report.warn(
                    "sequence batching state '%s' must specify 'data_type' for %s" % (state.input_name, report.name),
                    where=swhere,
                )
            if not len(state.dims) or any(d < -1 for d in state.dims):
                report.warn(
                    "sequence batching state '%s' must specify valid 'dims' (integers >= 1 or -1) for %s"
                    % (state.input_name, report.name),
                    where=swhere,
                )
            for initial in state.initial_state:
                if not initial.WhichOneof("state_data"):
                    report.error(
                        "initial_state setting expects state '%s' to have state_data set (zero_data or data_file)"
                        % state.input_name,
                        where=(*swhere, "initial_state"),
                    )
                idims, sdims = list(initial.dims), list(state.dims)
                if len(idims) != len(sdims) or any(s != -1 and i != s for i, s in zip(idims, sdims)):
                    report.error(
                        "'initial_state' dims %s of state '%s' do not match the state's dims %s"
                        % (_dims_str(idims), state.input_name, _dims_str(sdims)),
                        where=(*swhere, "initial_state", "dims"),
                    )
                if initial.WhichOneof("state_data") == "data_file":
                    path = os.path.join(report.path, "initial_state", initial.data_file)
                    if not os.path.isfile(path):
                        report.error(
                            "failed to open text file for read %s: initial_state data of state '%s' not found"
                            % (path, state.input_name),
                            where=(*swhere, "initial_state", "data_file"),
                        )
                if initial.data_type != state.data_type:
                    report.error(
                        "The data type used for 'initial_state' field of state '%s' does not match the state data "
                        "type" % state.input_name,
                        where=(*swhere, "initial_state"),
                    )
            for n in (state.input_name, state.output_name):
                if n and names.get(n, state) is not state:
                    report.warn("sequence batching state name '%s' is used twice" % n, where=swhere)
                names[n] = state
        if config.max_batch_size > MAX_SEQUENCE_BATCH:
            report.error(
                "max_batch_size %d with sequence batching for %s: the sequence batcher allocates a slot per batch "
                "entry at load (2**28 takes minutes, 2**30 aborts tritonserver 2.51); at most %d"
                % (config.max_batch_size, report.name, MAX_SEQUENCE_BATCH),
                where=("max_batch_size",),
            )
        if sb.WhichOneof("strategy_choice") == "oldest":
            if sb.oldest.max_candidate_sequences > MAX_CANDIDATE_SEQUENCES:
                report.error(
                    "sequence batching oldest max_candidate_sequences %d for %s is above %d: tritonserver 2.51 "
                    "allocates them at load and dies"
                    % (sb.oldest.max_candidate_sequences, report.name, MAX_CANDIDATE_SEQUENCES),
                    where=(*where, "max_candidate_sequences"),
                )
            for size in sb.oldest.preferred_batch_size:
                if size < 1 or size > max(config.max_batch_size, 1):
                    report.error(
                        "sequence batching oldest preferred size must be positive and <= max batch size for %s"
                        % report.name,
                        where=(*where, "oldest"),
                    )

    def _check_batch_io(self, report):
        config = report.config
        inputs = set(t.name for t in config.input)
        outputs = set(t.name for t in config.output)
        bi_kind = self._pb2.BatchInput.Kind.DESCRIPTOR
        for bi in config.batch_input:
            kind = self._enum_name(bi_kind, bi.kind)
            where = ("batch_input", '"%s"' % bi.target_name[0]) if len(bi.target_name) else ("batch_input",)
            if not len(bi.target_name):
                report.warn(
                    "batch input of %s has no 'target_name': the backend gets nothing" % report.name, where=where
                )
            if self._dtype(bi.data_type) not in ("TYPE_INT32", "TYPE_FP32"):
                report.error("batch input data type must be TYPE_INT32 or TYPE_FP32 for %s" % report.name, where=where)
            if kind in BATCH_INPUT_KINDS_WITH_SOURCE and len(bi.source_input) != 1:
                report.error(
                    "batch input kind '%s' expects 1 source input, got %d for %s"
                    % (kind, len(bi.source_input), report.name),
                    where=where,
                )
            for src in bi.source_input:
                if src not in inputs and not report.auto_completed:
                    report.error("unknown source input name '%s' for %s" % (src, report.name), where=where)
        for bo in config.batch_output:
            where = ("batch_output",)
            if not len(bo.target_name):
                report.error(
                    "batch output must specify 'target_name' for %s (tritonserver 2.51 dies on one without)"
                    % report.name,
                    where=where,
                )
            for target in bo.target_name:
                if target not in outputs and not report.auto_completed:
                    report.error("unknown target output name '%s' for %s" % (target, report.name), where=where)
            if len(bo.source_input) != 1:
                report.error(
                    "batch output kind BATCH_SCATTER_WITH_INPUT_SHAPE expects 1 source input, got %d for %s"
                    % (len(bo.source_input), report.name),
                    where=where,
                )
            for src in bo.source_input:
                if src not in inputs and not report.auto_completed:
                    report.error("unknown source input name '%s' for %s" % (src, report.name), where=where)

    # -- ensembles ------------------------------------------------------------------------------------------------
    def _tensor_shape(self, config, tensor):
        """(dims without the batch dimension, whether the model batches)."""
        dims = list(tensor.reshape.shape) if tensor.HasField("reshape") else list(tensor.dims)
        return dims, config.max_batch_size > 0

    def _check_ensemble(self, report):
        config = report.config
        if not config.HasField("ensemble_scheduling"):
            return
        name = report.name
        steps = config.ensemble_scheduling.step
        if not len(steps):
            report.error("must specify at least one step for ensemble '%s'" % name, where=("ensemble_scheduling",))
            return
        # tensor -> (dtype, shape, origin model) as known so far
        known = {}
        for t in config.input:
            known[t.name] = (t.data_type, self._tensor_shape(config, t), name)
        produced = {}
        consumed = set()
        missing = []
        for sidx, step in enumerate(steps):
            swhere = ("step", '"%s"' % step.model_name) if step.model_name else ("step",)
            if not step.model_name:
                report.error("must specify 'model_name' in step %d of ensemble '%s'" % (sidx, name), where=("step",))
                continue
            if step.model_version < -1:
                report.error(
                    "step %d of ensemble '%s' asks for version %d of '%s': a version is -1 (the latest) or a number "
                    ">= 0" % (sidx, name, step.model_version, step.model_name),
                    where=(*swhere, "model_version"),
                )
            for field in ("input_map", "output_map"):
                if not len(getattr(step, field)):
                    report.error("must specify '%s' in step %d of ensemble '%s'" % (field, sidx, name), where=swhere)
            for ens_tensor in step.output_map.values():
                if ens_tensor in produced:
                    report.error(
                        "ensemble tensor '%s' can appear in an output map only once for ensemble '%s' step %d"
                        % (ens_tensor, name, sidx),
                        where=(*swhere, '"%s"' % ens_tensor),
                    )
                produced[ens_tensor] = sidx
            consumed.update(step.input_map.values())
            sub = self.reports.get(step.model_name)
            if sub is None:
                missing.append(step.model_name)
                continue
            if sub.config is None or not sub.valid:
                continue  # reported below as a member that will not load
            if step.model_version >= 0 and sub.served_versions and step.model_version not in sub.served_versions:
                report.error(
                    "ensemble '%s' depends on '%s' whose required version %d is not loaded (served: %s)"
                    % (name, step.model_name, step.model_version, _dims_str(sub.served_versions)),
                    where=(*swhere, "model_version"),
                )
            sub_cfg = sub.config
            if config.max_batch_size > 0 and not sub.auto_completed:
                # a member that does not batch takes the ensemble's batch as its first dimension (shapes below)
                if 0 < sub_cfg.max_batch_size < config.max_batch_size:
                    report.error(
                        "ensemble %s allows maximum batch size %d, but it contains model %s which only allows maximum "
                        "batch size to be %d" % (name, config.max_batch_size, step.model_name, sub_cfg.max_batch_size),
                        where=swhere,
                    )
            if sub.auto_completed and not len(sub_cfg.input) and not len(sub_cfg.output):
                continue  # the model's interface is only known once Triton auto-completes it
            sub_inputs = dict((t.name, t) for t in sub_cfg.input)
            sub_outputs = dict((t.name, t) for t in sub_cfg.output)
            for tensor_map, tensors, relation in (
                (step.input_map, sub_inputs, "is mapping to non-existing input"),
                (step.output_map, sub_outputs, "is mapped from non-existing output"),
            ):
                for model_tensor, ens_tensor in tensor_map.items():
                    t = tensors.get(model_tensor)
                    if t is None:
                        report.error(
                            "in ensemble %s, ensemble tensor %s %s %s in model %s"
                            % (name, ens_tensor, relation, model_tensor, step.model_name),
                            where=(*swhere, '"%s"' % model_tensor),
                        )
                        continue
                    self._consistent(
                        report, ens_tensor, known, t.data_type, self._tensor_shape(sub_cfg, t), step.model_name
                    )
        if missing:
            report.error(
                "ensemble %s contains models that are not available or ambiguous: %s" % (name, ", ".join(missing)),
                where=("model_name", '"%s"' % missing[0]),
            )
        inputs = [t.name for t in config.input]
        outputs = [t.name for t in config.output]
        for t in inputs:
            if t not in consumed:
                report.error(
                    "ensemble input '%s' for ensemble %s' is not used" % (t, name), where=("input", '"%s"' % t)
                )
        for t in outputs:
            if t not in produced:
                report.error(
                    "ensemble output '%s' for ensemble %s' is not used (no step produces it)" % (t, name),
                    where=("output", '"%s"' % t),
                )
            else:
                t_cfg = next(o for o in config.output if o.name == t)
                self._consistent(report, t, known, t_cfg.data_type, self._tensor_shape(config, t_cfg), name)
        for tensor in sorted(consumed):
            if tensor not in produced and tensor not in inputs:
                report.error(
                    "ensemble tensor '%s' of ensemble '%s' is consumed by a step but is neither an ensemble input nor "
                    "produced by any step" % (tensor, name),
                    where=("input_map", '"%s"' % tensor),
                )
        for tensor in sorted(produced):
            if tensor not in consumed and tensor not in outputs:
                report.error(
                    "ensemble tensor '%s' is unused in ensemble '%s'" % (tensor, name),
                    where=("output_map", '"%s"' % tensor),
                )
        self._check_step_order(report, steps, inputs)

    def _check_step_order(self, report, steps, inputs):
        """Every step must become runnable from the ensemble inputs (a step waiting on its own output never runs)."""
        available = set(inputs)
        pending = list(range(len(steps)))
        progress = True
        while pending and progress:
            progress = False
            for sidx in list(pending):
                needs = set(steps[sidx].input_map.values())
                if needs <= available:
                    available.update(steps[sidx].output_map.values())
                    pending.remove(sidx)
                    progress = True
        for sidx in pending:
            needs = set(steps[sidx].input_map.values())
            produced_anywhere = set()
            for s in steps:
                produced_anywhere.update(s.output_map.values())
            if needs <= (produced_anywhere | set(inputs)):
                report.error(
                    "step %d (model '%s') of ensemble '%s' can never run: its inputs depend on its own outputs"
                    % (sidx, steps[sidx].model_name, report.name),
                    where=("step", '"%s"' % steps[sidx].model_name),
                )

    def _consistent(self, report, tensor, known, dtype, shape, origin):
        prev = known.get(tensor)
        if prev is None:
            known[tensor] = (dtype, shape, origin)
            return
        pdtype, (pdims, pbatch), porigin = prev
        dims, batch = shape
        if pdtype and dtype and pdtype != dtype:
            report.error(
                "in ensemble %s, ensemble tensor %s: inconsistent data type: %s is inferred from model %s while %s is "
                "inferred from model %s"
                % (report.name, tensor, self._dtype(pdtype), porigin, self._dtype(dtype), origin),
                where=('"%s"' % tensor,),
            )
            return

        def fits(a, b):
            return len(a) == len(b) and all(x == y or x == -1 or y == -1 for x, y in zip(a, b))

        # As Triton compares them: the dims without the batch dimension; where one model batches and the other does
        # not, the other's dims may also be [-1] + the batching model's.
        compatible = fits(pdims, dims)
        if not compatible and pbatch != batch:
            compatible = fits(pdims, [-1, *dims]) if batch else fits([-1, *pdims], dims)
        if pdims and dims and not compatible:
            report.error(
                "in ensemble %s, ensemble tensor %s: inconsistent shape: %s is inferred from model %s while %s is "
                "inferred from model %s" % (report.name, tensor, _dims_str(pdims), porigin, _dims_str(dims), origin),
                where=('"%s"' % tensor,),
            )

    def _check_cycles_and_dependencies(self):
        """Ensembles in a cycle, and ensembles using a model that will not load, do not load either."""
        state = {}

        def visit(name, stack):
            report = self.reports.get(name)
            if report is None or report.platform != "ensemble":
                return
            if state.get(name) == "done":
                return
            if name in stack:
                cycle = [*stack[stack.index(name) :], name]
                for member in set(cycle):
                    r = self.reports.get(member)
                    if r is not None and not any("circular dependency" in e["message"] for e in r.errors):
                        r.error(
                            "circular dependency between ensembles: %s" % " -> ".join(cycle),
                            where=("model_name",),
                        )
                return
            stack.append(name)
            for dep in report.dependencies:
                visit(dep, stack)
            stack.pop()
            state[name] = "done"

        for name in sorted(self.reports):
            visit(name, [])
        # Propagate failures to the ensembles that use the failed models (fixed point).
        changed = True
        while changed:
            changed = False
            for name in sorted(self.reports):
                report = self.reports[name]
                if report.platform != "ensemble" or not report.loads:
                    continue
                for dep in report.dependencies:
                    sub = self.reports.get(dep)
                    if sub is None or sub.valid:
                        continue
                    # A member Triton loads anyway fails the ensemble too when its check maps the member's outputs by
                    # name (two outputs of one name) or reads a type by name (a number that names no type); two
                    # inputs of one name it lets through.
                    loads = sub.loads and not sub.fails_ensembles
                    if loads and not report.valid:
                        continue
                    report.error(
                        "ensemble '%s' uses model '%s', which is not valid%s"
                        % (
                            name,
                            dep,
                            " (Triton loads both, but it cannot serve as configured)"
                            if loads
                            else " and will not load",
                        ),
                        where=("model_name", '"%s"' % dep),
                        loads_anyway=loads,
                    )
                    changed = True
                    break


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
