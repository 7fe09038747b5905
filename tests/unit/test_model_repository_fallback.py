"""fallback_path: staged (changed) models judged against the live repository they are about to join."""

from __future__ import annotations

import shutil
from pathlib import Path

from ansible_collections.gpufleet.triton.plugins.module_utils import _model_config as mc
from corpus_cases import retype_first_input, split_repository
from test_model_repository_info import run_module

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
TWO_STEPS = CORPUS / "valid/ensemble_two_steps/repo"  # pipe (ensemble) -> add (python)
NESTED = CORPUS / "valid/ensemble_nested/repo"  # outer -> inner -> add


def by_name(result: dict) -> dict:
    return {m["name"]: m for m in result["models"]}


def test_staged_ensemble_alone_lacks_its_unchanged_member(tmp_path):
    stage, _live = split_repository(TWO_STEPS, ["pipe"], tmp_path)
    res = mc.validate_repository(str(stage), models=["pipe"])
    assert not res["valid"]
    assert "not available" in by_name(res)["pipe"]["errors"][0]["message"]


def test_staged_ensemble_reads_its_member_from_the_live_repository(tmp_path):
    stage, live = split_repository(TWO_STEPS, ["pipe"], tmp_path)
    res = mc.validate_repository(str(stage), models=["pipe"], fallback_path=str(live))
    assert res["valid"], res
    assert [m["name"] for m in res["models"]] == ["pipe"]  # the member is read, not reported
    assert res["fallback_repository"] == str(live)


def test_changed_member_breaks_an_unchanged_live_ensemble(tmp_path):
    stage, live = split_repository(TWO_STEPS, ["add"], tmp_path, live_has_all=True)
    retype_first_input(stage / "add", "TYPE_INT32")
    alone = mc.validate_repository(str(stage), models=["add"])
    assert alone["valid"] and [m["name"] for m in alone["models"]] == ["add"]
    res = mc.validate_repository(str(stage), models=["add"], fallback_path=str(live))
    assert not res["valid"]
    models = by_name(res)
    assert list(models) == ["add", "pipe"] and models["add"]["valid"] and "already_invalid" not in models["add"]
    assert models["pipe"]["path"] == str(live / "pipe") and models["pipe"]["already_invalid"] is False
    assert "inconsistent data type" in models["pipe"]["errors"][0]["message"]


def test_live_ensemble_invalid_without_the_change_too_does_not_count(tmp_path):
    stage, live = split_repository(TWO_STEPS, ["add"], tmp_path, live_has_all=True)
    retype_first_input(live / "pipe", "TYPE_INT32")  # does not load today: INT32 fed to add's FP32 input
    for _ in range(2):  # a change that keeps it broken, then one that breaks it another way: neither is to blame
        res = mc.validate_repository(str(stage), models=["add"], fallback_path=str(live))
        pipe = by_name(res)["pipe"]
        assert res["valid"] and not pipe["valid"] and pipe["already_invalid"] is True
        assert pipe["errors"] and by_name(res)["add"]["valid"]
        cfg = stage / "add" / "config.pbtxt"
        cfg.write_text(cfg.read_text().replace("max_batch_size: 8", "max_batch_size: 4"))


def test_ensembles_that_use_the_change_through_other_ensembles_are_judged(tmp_path):
    stage, live = split_repository(NESTED, ["add"], tmp_path, live_has_all=True)
    res = mc.validate_repository(str(stage), models=["add"], fallback_path=str(live))
    assert res["valid"], res
    assert [m["name"] for m in res["models"]] == ["add", "inner", "outer"]


def test_staged_model_shadows_the_live_one(tmp_path):
    stage, live = split_repository(TWO_STEPS, ["add", "pipe"], tmp_path)
    shutil.copytree(stage / "add", live / "add")
    (live / "add" / "config.pbtxt").write_text("this is { not a config\n")
    res = mc.validate_repository(str(stage), fallback_path=str(live))
    assert res["valid"], res
    assert by_name(res)["add"]["path"] == str(stage / "add")


def test_unrelated_live_models_are_not_read(tmp_path):
    stage, live = split_repository(TWO_STEPS, ["pipe"], tmp_path)
    (live / "broken").mkdir()
    (live / "broken" / "config.pbtxt").write_text("ensemble_scheduling { step [ { model_name: \n")
    res = mc.validate_repository(str(stage), models=["pipe"], fallback_path=str(live))
    assert res["valid"] and [m["name"] for m in res["models"]] == ["pipe"]


def test_missing_fallback_repository_is_named(tmp_path):
    stage, _live = split_repository(TWO_STEPS, ["add", "pipe"], tmp_path)
    res = mc.validate_repository(str(stage), fallback_path=str(tmp_path / "nowhere"))
    assert not res["valid"]
    assert res["errors"][0]["message"] == "fallback repository %s does not exist or is not a directory" % (
        tmp_path / "nowhere"
    )


def test_module_option(tmp_path):
    stage, live = split_repository(TWO_STEPS, ["add"], tmp_path, live_has_all=True)
    retype_first_input(stage / "add", "TYPE_INT32")
    rc, res = run_module("model_repository_info", {"path": str(stage), "models": ["add"], "fallback_path": str(live)})
    assert rc != 0 and res["failed"]
    assert "(1 invalid model: pipe)" in res["msg"] and "inconsistent data type" in res["msg"]
    retype_first_input(live / "pipe", "TYPE_INT32")  # now broken without the change too: a warning, no failure
    rc, res = run_module("model_repository_info", {"path": str(stage), "models": ["add"], "fallback_path": str(live)})
    assert rc == 0 and res["valid"]
    why = by_name(res)["pipe"]["errors"][0]["message"]
    # ansible-core 2.19 returns each warning as {"event": {"msg": ...}}, earlier cores as a string.
    assert [w["event"]["msg"] if isinstance(w, dict) else w for w in res["warnings"]] == [
        f"pipe ({live / 'pipe'}) uses a model being changed and does not load with or without the change: {why}"
    ]
    rc, res = run_module("model_repository_info", {"path": str(stage), "models": ["add"]})
    assert rc == 0 and res["valid"] and "fallback_repository" not in res
