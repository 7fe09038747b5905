# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Ensembles: steps, tensor maps, data types and shapes along the pipeline, missing and cyclic members.

A mixin of RepositoryValidator (see _model_config), run once every model of the closure has its ModelReport.

Private to this collection: no stable API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpufleet.triton.plugins.module_utils._model_config_tensors import dims_str


class EnsembleChecks:
    """Checks of ensembles against the models they use."""

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
                    % (name, step.model_name, step.model_version, dims_str(sub.served_versions)),
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
        output_configs = {}
        for t_cfg in config.output:
            output_configs.setdefault(t_cfg.name, t_cfg)  # the first of a name, as next() over the list found it
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
                t_cfg = output_configs[t]
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
        """Every step must become runnable from the ensemble inputs (a step waiting on its own output never runs).

        The steps that can run, found as a topological order does: each step waits for a count of tensors, and a
        tensor once produced releases the steps that wait for it. (Passes over the pending steps until none ran
        were quadratic: minutes for an ensemble of thousands of steps.)"""
        available = set(inputs)
        waiting = {}  # tensor -> the steps that still wait for it
        missing = []  # per step: how many of its tensors are not available yet
        ready = []
        for sidx, step in enumerate(steps):
            needs = set(step.input_map.values()) - available
            missing.append(len(needs))
            for tensor in needs:
                waiting.setdefault(tensor, []).append(sidx)
            if not needs:
                ready.append(sidx)
        ran = set()
        while ready:
            sidx = ready.pop()
            ran.add(sidx)
            for tensor in steps[sidx].output_map.values():
                if tensor not in available:
                    available.add(tensor)
                    for other in waiting.pop(tensor, ()):
                        missing[other] -= 1
                        if not missing[other]:
                            ready.append(other)
        pending = [sidx for sidx in range(len(steps)) if sidx not in ran]
        produced_anywhere = set(inputs)
        for s in steps:
            produced_anywhere.update(s.output_map.values())
        for sidx in pending:
            needs = set(steps[sidx].input_map.values())
            if needs <= produced_anywhere:
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
                "inferred from model %s" % (report.name, tensor, dims_str(pdims), porigin, dims_str(dims), origin),
                where=('"%s"' % tensor,),
            )

    def _is_ensemble(self, name):
        report = self.reports.get(name)
        return report is not None and report.platform == "ensemble"

    def _mark_cycles(self):
        """Every ensemble on a cycle of ensembles gets an error naming the cycle.

        A depth-first walk with its own stack: a chain of ensembles longer than Python's recursion limit (each using
        the next) used to end the module with RecursionError."""
        done = set()
        for root in sorted(self.reports):
            if root in done or not self._is_ensemble(root):
                continue
            path, on_path, pending = [root], {root: 0}, [iter(self.reports[root].dependencies)]
            while pending:
                dep = next(pending[-1], None)
                if dep is None:
                    pending.pop()
                    name = path.pop()
                    del on_path[name]
                    done.add(name)
                    continue
                if dep in done or not self._is_ensemble(dep):
                    continue
                if dep in on_path:
                    self._mark_cycle([*path[on_path[dep] :], dep])
                    continue
                on_path[dep] = len(path)
                path.append(dep)
                pending.append(iter(self.reports[dep].dependencies))

    def _mark_cycle(self, cycle):
        for member in set(cycle):
            report = self.reports.get(member)
            if report is not None and not any("circular dependency" in e["message"] for e in report.errors):
                report.error("circular dependency between ensembles: %s" % " -> ".join(cycle), where=("model_name",))

    def _check_cycles_and_dependencies(self):
        """Ensembles in a cycle, and ensembles using a model that will not load, do not load either."""
        self._mark_cycles()
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
