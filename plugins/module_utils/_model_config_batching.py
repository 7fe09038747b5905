# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Dynamic and sequence batching, queue policies, batch inputs and outputs, and the response cache.

A mixin of RepositoryValidator (see _model_config); each check adds its findings to the model's ModelReport.

Private to this collection: no stable API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.gpufleet.triton.plugins.module_utils._model_config_tensors import dims_str

BATCH_INPUT_KINDS_WITH_SOURCE = (
    "BATCH_ELEMENT_COUNT",
    "BATCH_ACCUMULATED_ELEMENT_COUNT",
    "BATCH_ACCUMULATED_ELEMENT_COUNT_WITH_ZERO",
    "BATCH_MAX_ELEMENT_COUNT_AS_SHAPE",
    "BATCH_ITEM_SHAPE",
    "BATCH_ITEM_SHAPE_FLATTEN",
)

# Triton 2.51 allocates a slot per candidate sequence up front: 2**31 - 1 takes the server down.
MAX_CANDIDATE_SEQUENCES = 1 << 20

# The sequence batcher allocates per batch slot at load: a larger max_batch_size is a typo that stalls or kills it.
MAX_SEQUENCE_BATCH = 1 << 20

CORRID_TYPES = ("TYPE_UINT64", "TYPE_INT64", "TYPE_UINT32", "TYPE_INT32", "TYPE_STRING")

FALSE_TRUE_FIELDS = ("int32_false_true", "fp32_false_true", "bool_false_true")


class BatchingChecks:
    """Checks of a config's schedulers and of what they feed the model."""

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
                        % (dims_str(idims), state.input_name, dims_str(sdims)),
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
