"""The real tritonserver 2.51 is the validator's oracle: generated model repositories, judged by both, model by model.

configgen.py generates GENERATED cases from a fixed seed (every area of model_config.proto, every mutation class);
differential.py judges them: all with auto-complete off (the module with strict=True), every AUTOCOMPLETE_EVERY-th
again with it on. The module must foresee whether Triton loads each model it can judge (AGREEMENT), every
disagreement and every model the module fails although Triton loads it must be listed with its reason in
differential_known.yml, and every case that takes a server down must be rejected. The figures are printed at the end
of the pytest run (conftest.py) and written to $GPUFLEET_DIFFERENTIAL_REPORT when that is set.

`make differential` runs it alone with more cases (GPUFLEET_DIFFERENTIAL_CASES).
"""

from __future__ import annotations

import collections
import os
import shutil
import tempfile
from pathlib import Path

import configgen
import differential
import pytest
import tritonlab
from tritonclient.grpc import model_config_pb2 as pb2

pytestmark = pytest.mark.triton

GENERATED = int(os.environ.get("GPUFLEET_DIFFERENTIAL_CASES", "2400"))
SEED = int(os.environ.get("GPUFLEET_DIFFERENTIAL_SEED", "20261204"))
AUTOCOMPLETE_EVERY = 12
AGREEMENT = 0.995
MIN_PER_AREA = GENERATED // len(configgen.AREAS) // 2
MIN_PER_MUTATION = GENERATED // len(configgen.MUTATIONS) // 2


@pytest.fixture(scope="module")
def cases():
    return configgen.generate(GENERATED, seed=SEED)


@pytest.fixture(scope="module")
def judged(cases, triton_root):
    work = Path(tempfile.mkdtemp(prefix="gpufleet-differential-"))
    try:
        runs = []
        for strict, subset in ((True, cases), (False, cases[::AUTOCOMPLETE_EVERY])):
            outcome = differential.run(triton_root, work / ("strict" if strict else "autocomplete"), subset, strict)
            runs.append((outcome, differential.compare(outcome)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = [differential.summary(outcome, result) for outcome, result in runs]
    named, missed, parsed, moved = differential.field_mismatches(runs[0][1])
    lines.append(
        f"  where both reject: the module names a field or tensor Triton names in {named - len(missed)} of {named}; "
        f"the module's parse error is on libprotobuf's line in {parsed - len(moved)} of {parsed}"
    )
    tritonlab.REPORT.extend(lines)
    report = os.environ.get("GPUFLEET_DIFFERENTIAL_REPORT")
    if report:
        Path(report).write_text("\n".join(lines) + "\n")
    return runs


def test_generated_set_covers_the_schema(cases):
    assert len(cases) == GENERATED
    areas = collections.Counter(c.area for c in cases)
    mutations = collections.Counter(c.mutation for c in cases)
    assert set(areas) == set(configgen.AREAS) and min(areas.values()) >= MIN_PER_AREA, areas
    assert set(mutations) == set(configgen.MUTATIONS) and min(mutations.values()) >= MIN_PER_MUTATION, mutations
    # every top-level field of model_config.proto is written in some configs
    texts = [m.text for c in cases for m in c.models.values()]
    for field in pb2.ModelConfig.DESCRIPTOR.fields:
        hits = sum(1 for t in texts if f"\n{field.name} " in "\n" + t or f"\n{field.name}:" in "\n" + t)
        assert hits >= 2, (field.name, hits)


def test_the_same_seed_makes_the_same_cases(cases):
    again = configgen.generate(200, seed=SEED)
    assert [(c.descriptor, [m.text for m in c.models.values()]) for c in again] == [
        (c.descriptor, [m.text for m in c.models.values()]) for c in cases[:200]
    ]


def test_triton_rejects_enough_of_them(judged):
    for _outcome, result in judged:
        assert result["triton_rejected"] >= 0.4 * result["judged"], result["triton_rejected"]


def test_module_foresees_what_triton_loads(judged):
    for outcome, result in judged:
        share = result["agree"] / result["judged"]
        seen = [(r.case.descriptor, r.model, r.triton, r.module) for r in result["disagreements"]]
        assert share >= AGREEMENT, (share, seen[:20])
        assert result["judged"] >= 0.9 * sum(len(c.models) for c in outcome.cases)


def test_every_disagreement_is_listed_with_its_reason(judged):
    unlisted = [r for _outcome, result in judged for r in result["unlisted"]]
    assert not unlisted, "\n".join(
        "{} {}: Triton {} ({}), module {} ({})".format(
            r.case.descriptor, r.model, r.triton, r.triton_reason[:200], r.module, "; ".join(r.module_errors)[:300]
        )
        for r in unlisted[:30]
    )


def test_every_listed_disagreement_still_happens(judged):
    rows = [r for _outcome, result in judged for r in result["disagreements"] + result["stricter"]]
    for entry in differential.load_known():
        assert any(differential.known_reason([entry], r) for r in rows), entry


def test_cases_that_take_the_server_down_are_rejected(judged):
    for outcome, _result in judged:
        for case_id in outcome.crashes:
            case = next(c for c in outcome.cases if c.id == case_id)
            for name in case.models:
                assert outcome.module[name]["loads"] is False, (case.descriptor, outcome.module[name]["errors"])
