"""gpufleet.triton.image_cache_node_info through `ansible` (local connection): named keys, no parsing of output."""

from __future__ import annotations

import json
import os
import stat

from adhoc import run_adhoc


def test_free_space_files_state_and_user(ansible_bin, tmp_path):
    cache = tmp_path / "not" / "yet" / "images"  # missing: its nearest existing folder's file system
    present = tmp_path / "present.tar"
    present.write_bytes(b"x")
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"lab/triton": [{"id": "sha256:" + "a" * 64}]}))
    args = dict(cache_dir=str(cache), files=[str(present), str(tmp_path / "absent.tar")], state_file=str(state))
    _rc, res = run_adhoc(ansible_bin, "gpufleet.triton.image_cache_node_info", args, check=True)
    assert not res.get("failed") and not res["changed"], res
    st = os.statvfs(tmp_path)
    assert res["cache_dir"]["path"] == str(cache)
    assert abs(res["cache_dir"]["free_bytes"] - st.f_bavail * st.f_frsize) < 64 * 2**20
    assert os.stat(res["cache_dir"]["mount"]).st_dev == os.stat(tmp_path).st_dev
    assert res["files"] == {str(present): True, str(tmp_path / "absent.tar"): False}
    assert res["state"] == {"lab/triton": [{"id": "sha256:" + "a" * 64}]}
    assert res["images"] == {} and "docker_root" not in res
    assert res["user"] and res["group"]


def test_a_missing_or_empty_state_file_is_an_empty_history(ansible_bin, tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_text("\n")
    for path in (empty, tmp_path / "missing.json"):
        _rc, res = run_adhoc(ansible_bin, "gpufleet.triton.image_cache_node_info", dict(state_file=str(path)))
        assert res["state"] == {}, res


def test_a_state_file_that_is_not_json_fails_naming_it(ansible_bin, tmp_path):
    bad = tmp_path / "state.json"
    bad.write_text("{not json")
    os.chmod(bad, stat.S_IRUSR | stat.S_IWUSR)
    _rc, res = run_adhoc(ansible_bin, "gpufleet.triton.image_cache_node_info", dict(state_file=str(bad)))
    assert res["failed"] and res["msg"].startswith(f"{bad} is not JSON"), res


def test_images_the_engine_lacks_are_empty_strings(ansible_bin, tmp_path):
    """Without an engine that knows the reference (or without docker at all) the answer is "", not a failure."""
    ref = "gpufleet-test/never-pulled:0"
    _rc, res = run_adhoc(ansible_bin, "gpufleet.triton.image_cache_node_info", dict(images=[ref, ""]))
    assert res["images"] == {ref: ""}, res
