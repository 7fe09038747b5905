"""fallback_path agrees with the real tritonserver on staged models joining a live repository.

Triton serves several repositories at once (`--model-repository` given twice) when their model names differ; that is
exactly the candidate view the role builds when it stages the changed models beside the live ones.
"""

from __future__ import annotations

import pytest
import tritonlab
from ansible_collections.gpufleet.triton.plugins.module_utils._model_config import validate_repository
from corpus_cases import CORPUS, retype_first_input, split_repository

pytestmark = pytest.mark.triton

# (case id, corpus repository, staged models, model whose first input is retyped to INT32 or None)
SPLITS = [
    ("staged-ensemble-live-member", "valid/ensemble_two_steps", ["pipe"], None),
    ("staged-member-live-ensemble", "valid/ensemble_two_steps", ["add"], None),
    ("staged-member-breaks-live-ensemble", "valid/ensemble_two_steps", ["add"], "add"),
    ("staged-member-live-nested-ensembles", "valid/ensemble_nested", ["add"], None),
    ("staged-ensemble-breaks-with-live-member", "valid/ensemble_two_steps", ["pipe"], "pipe"),
]


@pytest.mark.parametrize(("source", "staged", "retyped"), [s[1:] for s in SPLITS], ids=[s[0] for s in SPLITS])
def test_verdict_matches_triton(triton_root, tmp_path, source, staged, retyped):
    stage, live = split_repository(CORPUS / source / "repo", staged, tmp_path)
    if retyped:
        retype_first_input((stage if retyped in staged else live) / retyped, "TYPE_INT32")
    ready, index, log = tritonlab.triton_verdict(
        triton_root, stage, tmp_path, timeout=30, extra_args=[f"--model-repository={live}"]
    )
    assert index is not None, log[-3000:]
    ours = validate_repository(str(stage), models=staged, fallback_path=str(live))
    judged = {m["name"]: m["valid"] for m in ours["models"]}
    assert set(staged) <= set(judged)
    for name, valid in judged.items():
        assert ready.get(name) is valid, (name, ready, ours, log[-3000:])
    # Every model Triton failed that uses a staged model (directly or not) is among those judged.
    assert {n for n, r in ready.items() if not r} <= set(judged), (ready, judged)
