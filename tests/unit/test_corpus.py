"""Every corpus case: the validator's verdict per model, and where the first expected finding points."""

from __future__ import annotations

import pytest
from ansible_collections.gpufleet.triton.plugins.module_utils._model_config import validate_repository
from corpus_cases import load_cases

CASES = load_cases()


def _match(finding: dict, want: dict, model_dir) -> bool:
    if "message" in want and want["message"] not in finding["message"]:
        return False
    if "file" in want and finding.get("file") != str(model_dir / want["file"]):
        return False
    for key in ("line", "column"):
        if key in want and finding.get(key) != want[key]:
            return False
    return True


def test_corpus_size():
    broken = [c for c in CASES if c.kind == "broken"]
    valid = [c for c in CASES if c.kind == "valid"]
    assert len(broken) >= 60 and len(valid) >= 20


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_corpus_case(case, tmp_path):
    repo = case.materialize(tmp_path / "repo")
    result = validate_repository(str(repo), **case.options)
    verdicts = {m["name"]: m for m in result["models"]}
    assert set(verdicts) == set(case.models), f"models found {sorted(verdicts)}"
    for name, spec in case.models.items():
        model = verdicts[name]
        assert model["valid"] == spec["valid"], (name, model["errors"], model["warnings"])
        if "error" in spec:
            assert any(_match(e, spec["error"], repo / name) for e in model["errors"]), (
                spec["error"],
                model["errors"],
            )
        if "warning" in spec:
            assert any(_match(w, spec["warning"], repo / name) for w in model["warnings"]), model["warnings"]
    if case.kind == "valid":
        assert result["valid"]
    else:
        assert not result["valid"]
