# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Versions, backends, model files and instance groups: what a model directory must hold for its backend.

A mixin of RepositoryValidator (see _model_config); each check adds its findings to the model's ModelReport.

Private to this collection: no stable API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import sys

from ansible_collections.gpufleet.triton.plugins.module_utils._model_config_parse import finding
from ansible_collections.gpufleet.triton.plugins.module_utils._regular_file import read_regular
from ansible_collections.gpufleet.triton.plugins.module_utils._triton_image_variants import PY3_BACKENDS

# Backends of the NGC nvcr.io/nvidia/tritonserver:24.10-py3 image, the role's default image (other images' lists:
# _triton_image_variants).
DEFAULT_BACKENDS = list(PY3_BACKENDS)

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

# backend -> the file it reads from each version directory whatever default_model_filename says: the vLLM backend takes
# the engine's arguments from <version>/model.json and fails the load without it (its README; src/model.py asserts it
# is a file).
BACKEND_FIXED_FILE = {"vllm": "model.json"}

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

# More instances of one group than this is a typo (each instance is a process or a copy of the model).
MAX_INSTANCES = 1024

_ASCII_DIGITS = re.compile(r"^[0-9]+$")


class BackendChecks:
    """Checks of a model's version directories, backend, model files and instance groups."""

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
        if report.backend in BACKEND_FIXED_FILE:
            candidates = [BACKEND_FIXED_FILE[report.backend]]
        elif config.default_model_filename:
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
                elif report.backend == "vllm":
                    extra = (
                        " (the vLLM backend reads the engine's arguments from it, a JSON object naming the model, "
                        "and fails the model's load without it)"
                    )
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
                path = os.path.join(report.path, str(v), BACKEND_FIXED_FILE["vllm"])
                if os.path.exists(path):  # a missing one is _check_model_files' finding
                    self._check_vllm_model_json(report, path)
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
            raw = read_regular(path, 1 << 20)
        except (IOError, OSError) as exc:
            report.error("vllm model %s needs %s: %s" % (report.name, path, exc), file=path)
            return
        try:
            args = json.loads(raw.decode("utf-8"))
        except ValueError as exc:
            report.error("%s is not JSON: %s" % (path, exc), file=path)
            return
        except RecursionError:
            report.error("%s is not a JSON object of engine arguments: it nests too deeply to read" % path, file=path)
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
        source = report.read_bytes(path)
        if source is None:
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
            except RecursionError:
                # a very long or deeply nested expression: Triton's Python fails to import it the same way
                outcome = (
                    "other",
                    "an expression too long or nested too deeply for Python's compiler (RecursionError)",
                )
            except MemoryError:
                outcome = ("other", "Python's compiler ran out of memory on it (nested too deeply)")
            self._compiled[source] = outcome
        if not outcome:
            return
        if outcome[0] == "syntax":
            _kind, msg, lineno, offset = outcome
            message = "SyntaxError: %s (%s, line %s)" % (msg, os.path.basename(path), lineno)
            item = finding(message, path, lineno, offset)
            # The -py3 image runs model.py with Python 3.10+; an older interpreter here may reject newer syntax.
            if sys.version_info >= (3, 10):
                report.errors.append(item)
            else:
                report.warnings.append(item)
        else:
            report.errors.append(finding("%s cannot be compiled: %s" % (path, outcome[1]), path))

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
