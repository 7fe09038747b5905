# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fields, inputs and outputs (names, data types, dims, reshape), enum values and warmup data of one config.

A mixin of RepositoryValidator (see _model_config); each check adds its findings to the model's ModelReport.

Private to this collection: no stable API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

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


def is_repeated(fd):
    return fd.is_repeated if hasattr(type(fd), "is_repeated") else fd.label == fd.LABEL_REPEATED


def dims_str(dims):
    return "[" + ",".join(str(d) for d in dims) + "]"


def product(dims):
    total = 1
    for d in dims:
        total *= d
    return total


def reshape_compatible(dims, shape):
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


class TensorChecks:
    """Checks of a config's fields, tensors, enum values and warmup samples."""

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
                    "(got %s)" % (kind, t.name, report.name, dims_str(t.dims)),
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
            elif len(t.dims) and not reshape_compatible(list(t.dims), shape):
                report.error(
                    "model %s '%s' has different size for dims and reshape for %s (dims %s, reshape %s)"
                    % (kind, t.name, report.name, dims_str(t.dims), dims_str(shape)),
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
                    % (kind, t.name, dims_str(t.dims), config.max_batch_size, dims_str([-1, *list(t.dims)])),
                    where=(*where_name, "dims"),
                )

    def _check_enum_values(self, report, message, where):
        """A number that names no value of its enum parses (the schema's enums are open) but fails in Triton."""
        for fd, value in message.ListFields():
            if fd.enum_type is not None and fd.containing_type.name != "ModelInstanceGroup":  # kind: checked there
                values = value if is_repeated(fd) else [value]
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
                    for item in value if is_repeated(fd) else [value]:
                        self._check_enum_values(report, item, (*where, fd.name))

    def _check_warmup(self, report):
        """model_warmup runs each sample through the model at load: Triton checks it as it checks a request."""
        config = report.config
        inputs = dict((t.name, t) for t in config.input)
        declared = [t.name for t in config.input if not t.optional]
        counts = {}
        for name in declared:
            counts[name] = counts.get(name, 0) + 1
        # counted once: declared.count() per name was quadratic in the number of inputs
        twice = sorted(name for name, count in counts.items() if count > 1)
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
                        self._check_string_warmup_file(report, path, name, product(data.dims), iwhere)
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
                        % (name, report.name, dims_str(dims), dims_str(wdims)),
                        where=(*iwhere, "dims"),
                    )

    def _check_data_file_size(self, report, path, data, what, where):
        """A fixed-size data file must hold at least one sample of the dims (Triton reads that many bytes)."""
        size = DTYPE_BYTES.get(self._dtype(data.data_type))
        if size is None or any(d < 1 for d in data.dims):
            return  # the type or shape is reported on its own
        needed = product(data.dims) * size
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
        raw = report.read_bytes(path, 1 << 24)
        if raw is None:
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
