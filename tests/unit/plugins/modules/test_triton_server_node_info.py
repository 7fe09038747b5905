"""gpufleet.triton.triton_server_node_info, the module alone: each key read only when asked, by name."""

from __future__ import annotations

import json
import os
import sys

from adhoc import run_module_file
from ansible_collections.gpufleet.triton.plugins.module_utils._tree_digest import model_digests


def _repo(root):
    for name in ("a", "b"):
        (root / name / "1").mkdir(parents=True)
        (root / name / "config.pbtxt").write_text(f'name: "{name}"\n')
    return root


def test_nothing_asked_nothing_read():
    assert run_module_file("triton_server_node_info", {}) == {
        "changed": False,
        "invocation": {"module_args": dict.fromkeys(
            ["image", "validator_python", "managed_models_record", "lock_path", "repository", "models"])},
    }  # fmt: skip


def test_the_controller_and_the_node_read_the_same_digests(tmp_path):
    src = _repo(tmp_path / "src")
    node = _repo(tmp_path / "node")
    (node / "b" / "config.pbtxt").write_text("changed\n")
    here = run_module_file("triton_server_node_info", {"repository": str(src)})["model_digests"]
    there = run_module_file("triton_server_node_info", {"repository": str(node), "models": ["a", "b", "gone"]})
    assert here == model_digests(src) and set(here) == {"a", "b"}
    assert there["model_digests"]["a"] == here["a"]
    assert there["model_digests"]["b"] != here["b"]
    assert there["model_digests"]["gone"] is None


def test_record_lock_and_validator(tmp_path):
    record = tmp_path / "managed-models.json"
    record.write_text(json.dumps(["a", "b"]) + "\n")
    lock = tmp_path / "triton-server.lock"
    lock.write_text("ops@ctl, run started 2026-12-04T20:00:00Z #1\n")
    res = run_module_file("triton_server_node_info", {
        "managed_models_record": str(record), "lock_path": str(lock), "validator_python": sys.executable})  # fmt: skip
    assert res["managed_models"] == ["a", "b"]
    assert res["lock_holder"] == "ops@ctl, run started 2026-12-04T20:00:00Z #1"
    assert isinstance(res["validator_ready"], bool)
    assert res["validator_ready"] == (res["validator_error"] == "")
    none = run_module_file("triton_server_node_info", {
        "managed_models_record": str(tmp_path / "missing.json"), "lock_path": str(tmp_path / "no.lock")})  # fmt: skip
    assert (none["managed_models"], none["lock_holder"]) == ([], "")


def test_a_record_that_is_not_a_list_of_names_fails(tmp_path):
    record = tmp_path / "managed-models.json"
    record.write_text('{"a": 1}')
    res = run_module_file("triton_server_node_info", {"managed_models_record": str(record)})
    assert res["failed"] and "not a JSON list of model names" in res["msg"]


def test_a_missing_image_reads_as_empty_id_with_dockers_words(tmp_path, monkeypatch):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "docker").write_text("#!/bin/sh\necho 'Error: No such image: nvcr.io/x:1' >&2\nexit 1\n")
    os.chmod(fake / "docker", 0o700)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    res = run_module_file("triton_server_node_info", {"image": "nvcr.io/x:1"})
    assert (res["image_id"], res["image_error"]) == ("", "Error: No such image: nvcr.io/x:1")
