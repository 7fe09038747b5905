"""`return_config` and the per-source compile cache: less work, the same verdict and findings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.gpufleet.triton.plugins.module_utils import _model_config as mc
from ansible_collections.gpufleet.triton.plugins.module_utils import _model_config_backends as backends

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
CASES = sorted(str(p.parent) for p in CORPUS.glob("*/*/repo"))


def run_module(name: str, args: dict):
    """Run the module file as Ansible does: JSON arguments on stdin, JSON result on stdout."""
    payload = json.dumps({"ANSIBLE_MODULE_ARGS": args})
    module = Path(__file__).resolve().parents[2] / "plugins" / "modules" / f"{name}.py"
    env = dict(os.environ, PYTHONPATH=os.environ["ANSIBLE_COLLECTIONS_PATH"])
    proc = subprocess.run(
        [sys.executable, str(module)], input=payload, capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _without_config(result: dict) -> dict:
    return dict(result, models=[{k: v for k, v in m.items() if k != "config"} for m in result["models"]])


@pytest.mark.parametrize("repo", CASES, ids=[str(Path(c).relative_to(CORPUS)) for c in CASES])
def test_return_config_false_changes_nothing_else(repo):
    full = mc.validate_repository(repo + "/repo")
    lean = mc.validate_repository(repo + "/repo", return_config=False)
    assert all("config" in m for m in full["models"])
    assert all("config" not in m for m in lean["models"])
    assert lean == _without_config(full)


def test_module_return_config_false():
    path = str(CORPUS / "valid/ensemble_two_steps/repo")
    rc, full = run_module("model_repository_info", {"path": path})
    rc_lean, lean = run_module("model_repository_info", {"path": path, "return_config": False})
    assert rc == rc_lean == 0 and lean["valid"] is True
    assert all("config" not in m for m in lean["models"])
    assert _without_config(full)["models"] == lean["models"]


def test_module_return_config_false_still_fails_with_location():
    rc, res = run_module(
        "model_repository_info", {"path": str(CORPUS / "broken/parse_unknown_field/repo"), "return_config": False}
    )
    assert rc != 0 and res["failed"] and "config.pbtxt:3:1" in res["msg"]


MODEL_PY_OK = "class TritonPythonModel:\n    def execute(self, requests):\n        return []\n"
MODEL_PY_BAD = "class TritonPythonModel:\n    def execute(self, requests)\n        return []\n"
CONFIG = 'backend: "python"\nversion_policy: { all { } }\n'


def test_identical_model_py_compiled_once_each_finding_on_its_own_file(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    for name, versions in (("a", ("1", "2")), ("b", ("1",)), ("c", ("1",))):
        (repo / name).mkdir(parents=True)
        (repo / name / "config.pbtxt").write_text(CONFIG)
        for v in versions:
            (repo / name / v).mkdir()
            (repo / name / v / "model.py").write_text(MODEL_PY_BAD if name != "c" else MODEL_PY_OK)
    calls = []
    real_compile = compile

    def counting_compile(source, filename, *args, **kwargs):
        calls.append(filename)
        return real_compile(source, filename, *args, **kwargs)

    monkeypatch.setattr(backends, "compile", counting_compile, raising=False)
    result = mc.validate_repository(str(repo))
    assert len(calls) == 2  # one broken source (three files), one good source
    by_name = {m["name"]: m for m in result["models"]}
    assert by_name["c"]["valid"] and not by_name["a"]["valid"] and not by_name["b"]["valid"]
    errors = by_name["a"]["errors"] + by_name["b"]["errors"]
    assert [e["file"] for e in errors] == [
        str(repo / "a" / "1" / "model.py"),
        str(repo / "a" / "2" / "model.py"),
        str(repo / "b" / "1" / "model.py"),
    ]
    for err in errors:
        assert err["message"].startswith("SyntaxError: ") and err["message"].endswith("(model.py, line 2)")
        assert err["line"] == 2 and err["column"]


def test_compile_cache_matches_uncached(tmp_path):
    repo = tmp_path / "repo"
    (repo / "twin" / "1").mkdir(parents=True)
    (repo / "twin" / "config.pbtxt").write_text(CONFIG)
    (repo / "twin" / "1" / "model.py").write_text(MODEL_PY_BAD)
    (repo / "solo" / "1").mkdir(parents=True)
    (repo / "solo" / "config.pbtxt").write_text(CONFIG)
    (repo / "solo" / "1" / "model.py").write_text(MODEL_PY_BAD)
    result = mc.validate_repository(str(repo))
    solo = next(m for m in result["models"] if m["name"] == "solo")["errors"][0]
    twin = next(m for m in result["models"] if m["name"] == "twin")["errors"][0]
    assert {k: v for k, v in solo.items() if k != "file"} == {k: v for k, v in twin.items() if k != "file"}
    uncached = mc.RepositoryValidator(str(repo))
    report = mc.ModelReport("solo", str(repo / "solo"))
    uncached._check_python_source(report, str(repo / "solo" / "1" / "model.py"))
    assert report.errors == [solo]
