"""plugins/module_utils/_tree_digest.py: what changes a digest and what does not."""

from __future__ import annotations

import os

from ansible_collections.gpufleet.triton.plugins.module_utils._tree_digest import (
    model_digests,
    model_names,
    tree_digest,
)


def _repo(root):
    (root / "a" / "1").mkdir(parents=True)
    (root / "a" / "config.pbtxt").write_text('backend: "python"\n')
    (root / "a" / "1" / "model.py").write_text("x = 1\n")
    (root / "b" / "1").mkdir(parents=True)
    (root / "b" / "1" / "model.onnx").write_bytes(b"\0\1")
    (root / ".hidden").mkdir()
    return root


def test_equal_trees_equal_digests(tmp_path):
    one, two = _repo(tmp_path / "one"), _repo(tmp_path / "two")
    os.chmod(two / "a" / "1" / "model.py", 0o700)  # modes are not content
    (two / "a" / "2").mkdir()  # nor are empty folders
    assert model_digests(one) == model_digests(two)
    assert tree_digest(one) == tree_digest(two)


def test_content_and_names_change_digests(tmp_path):
    root = _repo(tmp_path / "r")
    before = model_digests(root)
    (root / "a" / "1" / "model.py").write_text("x = 2\n")
    after = model_digests(root)
    assert after["a"] != before["a"] and after["b"] == before["b"]
    (root / "b" / "1" / "model.onnx").rename(root / "b" / "1" / "other.onnx")
    assert model_digests(root)["b"] != before["b"]


def test_models_and_absent_names(tmp_path):
    root = _repo(tmp_path / "r")
    (root / "link").symlink_to(root / "a")
    assert model_names(root) == ["a", "b"]
    assert model_names(tmp_path / "missing") == []
    digests = model_digests(root, ["a", "gone"])
    assert digests["gone"] is None and len(digests["a"]) == 64


def test_links_followed_loops_skipped(tmp_path):
    root = _repo(tmp_path / "r")
    plain = tree_digest(root / "a")
    (tmp_path / "weights.py").write_text("x = 1\n")
    (root / "a" / "1" / "model.py").unlink()
    (root / "a" / "1" / "model.py").symlink_to(tmp_path / "weights.py")
    (root / "a" / "1" / "loop").symlink_to(root / "a")
    assert tree_digest(root / "a") == plain
