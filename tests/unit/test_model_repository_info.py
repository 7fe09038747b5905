"""The module end to end through AnsibleModule (ansible-core's own way of feeding a module its arguments)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.gpufleet.triton.plugins.module_utils import _model_config as mc
from ansible_collections.gpufleet.triton.plugins.module_utils import _model_config_parse as parse

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


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


def test_valid_repository():
    rc, res = run_module("model_repository_info", {"path": str(CORPUS / "valid/ensemble_two_steps/repo")})
    assert rc == 0 and res["valid"] and not res["changed"]
    assert [m["name"] for m in res["models"]] == ["add", "pipe"]
    add = res["models"][0]
    assert add["backend"] == "python" and add["served_versions"] == [1]
    assert add["config"]["input"][0]["name"] == "INPUT0"


def test_invalid_fails_naming_file_line_column():
    rc, res = run_module("model_repository_info", {"path": str(CORPUS / "broken/parse_unknown_field/repo")})
    assert rc != 0 and res["failed"]
    assert "config.pbtxt:3:1" in res["msg"] and 'no field named "foo_bar"' in res["msg"]


def test_fail_on_error_false():
    rc, res = run_module(
        "model_repository_info", {"path": str(CORPUS / "broken/name_mismatch/repo"), "fail_on_error": False}
    )
    assert rc == 0 and res["valid"] is False and res["models"][0]["valid"] is False


def test_models_filter_reads_ensemble_members():
    rc, res = run_module(
        "model_repository_info", {"path": str(CORPUS / "valid/ensemble_nested/repo"), "models": ["outer"]}
    )
    assert rc == 0 and [m["name"] for m in res["models"]] == ["outer"]


def test_unknown_model_in_filter():
    rc, res = run_module(
        "model_repository_info",
        {"path": str(CORPUS / "valid/python_minimal/repo"), "models": ["nope"], "fail_on_error": False},
    )
    assert rc == 0 and not res["valid"] and "nope" in res["errors"][0]["message"]


def test_missing_repository():
    rc, res = run_module("model_repository_info", {"path": "/nonexistent/models"})
    assert rc != 0 and "does not exist" in res["msg"]


def test_strict_and_auto_complete(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(CORPUS / "valid/python_no_config/repo", repo)
    assert mc.validate_repository(str(repo))["valid"]
    strict = mc.validate_repository(str(repo), strict=True)
    assert not strict["valid"] and "failed to open text file" in strict["models"][0]["errors"][0]["message"]


def test_gpu_count_unset_does_not_judge_gpus(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(CORPUS / "broken/instance_gpu_without_gpu/repo", repo)
    assert mc.validate_repository(str(repo))["valid"]
    assert not mc.validate_repository(str(repo), gpu_count=0)["valid"]


def test_missing_schema_is_reported(monkeypatch):
    monkeypatch.setattr(parse, "_SCHEMA", {})
    monkeypatch.delitem(sys.modules, parse.PB2_MODULE, raising=False)
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(mc.MissingSchemaError) as exc:
        mc.load_schema()
    assert exc.value.args[0] == "tritonclient"


def test_missing_protobuf_is_reported(monkeypatch):
    monkeypatch.setattr(parse, "_SCHEMA", {})
    monkeypatch.setitem(sys.modules, "google.protobuf", None)
    with pytest.raises(mc.MissingSchemaError) as exc:
        mc.RepositoryValidator(str(CORPUS / "valid/ensemble_two_steps/repo"))
    assert exc.value.args[0] == "protobuf"


def test_schema_loads_without_grpc_import():
    code = (
        "import sys; sys.modules['grpc'] = None\n"
        f"sys.path.insert(0, {str(Path(sys.modules['ansible_collections'].__path__[0]).parent)!r})\n"
        "from ansible_collections.gpufleet.triton.plugins.module_utils._model_config import load_schema\n"
        "pb2, tf, jf = load_schema(); print(pb2.ModelConfig.DESCRIPTOR.full_name)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "inference.ModelConfig", out.stderr


@pytest.mark.parametrize("module", ["model_repository_info", "server_info"])
def test_ansible_doc_renders(module):
    ansible_doc = Path(sys.executable).parent / "ansible-doc"
    out = subprocess.run(
        [str(ansible_doc) if ansible_doc.exists() else "ansible-doc", f"gpufleet.triton.{module}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert f"gpufleet.triton.{module}" in out.stdout and "ERROR" not in out.stderr
