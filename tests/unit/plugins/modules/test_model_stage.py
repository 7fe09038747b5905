"""gpufleet.triton.model_stage: through `ansible` (packing, transfer, module), and the module alone for bad archives."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys

import pytest
from adhoc import run_adhoc, run_module_file
from ansible.errors import AnsibleActionFail
from ansible_collections.gpufleet.triton.plugins.action.model_stage import (
    archive_size,
    check_controller_room,
    entries,
    pack,
)


@pytest.fixture
def repo(tmp_path):
    """A controller repository: add_sub (two versions, an executable helper, a linked file, an empty folder), echo."""
    src = tmp_path / "ctl"
    (src / "add_sub" / "1").mkdir(parents=True)
    (src / "add_sub" / "2").mkdir()
    (src / "add_sub" / "3").mkdir()  # a version folder with nothing in it yet
    (src / "add_sub" / "config.pbtxt").write_text('backend: "python"\n')
    (src / "add_sub" / "1" / "model.py").write_text("# v1\n")
    (src / "add_sub" / "2" / "model.py").write_bytes(os.urandom(2 * 1024 * 1024 + 3))
    (src / "add_sub" / "2" / "run.sh").write_text("#!/bin/sh\n")
    (src / "add_sub" / "2" / "run.sh").chmod(0o750)
    (tmp_path / "labels.txt").write_text("a\nb\n")
    (src / "add_sub" / "labels.txt").symlink_to(tmp_path / "labels.txt")
    (src / "echo" / "1").mkdir(parents=True)
    (src / "echo" / "1" / "model.py").write_text("# echo\n")
    dest = tmp_path / "node" / "staging"
    remote_tmp = tmp_path / "remote-tmp"
    remote_tmp.mkdir()
    return src, dest, remote_tmp


def stage(ansible_bin, remote_tmp, args, check=False):
    _rc, result = run_adhoc(
        ansible_bin, "gpufleet.triton.model_stage", args, check=check, env={"ANSIBLE_REMOTE_TMP": str(remote_tmp)}
    )
    assert list(remote_tmp.iterdir()) == [], "the remote temporary folder was left behind"
    return result


def tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_stages_models_in_one_transfer_with_modes(ansible_bin, repo):
    src, dest, remote_tmp = repo
    dest.mkdir(parents=True)
    (dest / "other").mkdir()
    (dest / "other" / "keep.txt").write_text("not managed by this task")
    res = stage(ansible_bin, remote_tmp, dict(src=str(src), dest=str(dest), models=["add_sub", "echo"]))
    assert res["changed"] and res["models"] == ["add_sub", "echo"]
    assert res["files"] == 6 and res["bytes"] == sum(p.stat().st_size for p in src.rglob("*") if p.is_file())
    assert tree(dest / "add_sub") == tree(src / "add_sub")
    assert (dest / "add_sub" / "2" / "model.py").read_bytes() == (src / "add_sub" / "2" / "model.py").read_bytes()
    assert (dest / "add_sub" / "labels.txt").read_text() == "a\nb\n" and not (
        dest / "add_sub" / "labels.txt"
    ).is_symlink()
    assert (dest / "add_sub" / "3").is_dir()
    modes = {p: stat.S_IMODE((dest / "add_sub" / p).stat().st_mode) for p in ("2/run.sh", "2/model.py", "1", "3")}
    assert modes == {"2/run.sh": 0o755, "2/model.py": 0o644, "1": 0o755, "3": 0o755}
    assert (dest / "other" / "keep.txt").read_text() == "not managed by this task"


def test_restaging_replaces_the_model_folder(ansible_bin, repo):
    src, dest, remote_tmp = repo
    stage(ansible_bin, remote_tmp, dict(src=str(src), dest=str(dest), models=["add_sub"]))
    (dest / "add_sub" / "1" / "stale.bin").write_text("left by an earlier version")
    (src / "add_sub" / "1" / "model.py").write_text("# v1, changed\n")
    res = stage(ansible_bin, remote_tmp, dict(src=str(src), dest=str(dest), models=["add_sub"]))
    assert res["changed"]
    assert not (dest / "add_sub" / "1" / "stale.bin").exists()
    assert (dest / "add_sub" / "1" / "model.py").read_text() == "# v1, changed\n"


def test_a_missing_dest_is_created_0755_whatever_the_umask(ansible_bin, repo):
    src, dest, remote_tmp = repo
    old = os.umask(0o077)  # a hardened host's umask, inherited by the local connection's module
    try:
        stage(ansible_bin, remote_tmp, dict(src=str(src), dest=str(dest), models=["echo"]))
    finally:
        os.umask(old)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o755
    assert (dest / "echo" / "1" / "model.py").read_text() == "# echo\n"


def test_exclusive_removes_what_an_earlier_run_left(ansible_bin, repo):
    src, dest, remote_tmp = repo
    dest.mkdir(parents=True)
    (dest / "left_over" / "1").mkdir(parents=True)
    (dest / "stray.txt").write_text("x")
    (dest / "link").symlink_to(src / "echo")
    res = stage(ansible_bin, remote_tmp, dict(src=str(src), dest=str(dest), models=["echo"], exclusive=True))
    assert res["changed"] and res["removed"] == ["left_over", "link", "stray.txt"]
    assert sorted(p.name for p in dest.iterdir()) == ["echo"]
    assert (src / "echo" / "1" / "model.py").exists(), "a link's target is never followed into"
    res = stage(ansible_bin, remote_tmp, dict(src=str(src), dest=str(dest), models=["add_sub"]))
    assert res["removed"] == [] and sorted(p.name for p in dest.iterdir()) == ["add_sub", "echo"]


def test_exclusive_removes_nothing_in_check_mode_or_without_models(ansible_bin, repo):
    src, dest, remote_tmp = repo
    (dest / "left_over").mkdir(parents=True)
    for args, check in ((dict(models=["echo"]), True), (dict(models=[]), False)):
        res = stage(ansible_bin, remote_tmp, dict(src=str(src), dest=str(dest), exclusive=True, **args), check=check)
        assert res["removed"] == []
        assert sorted(p.name for p in dest.iterdir()) == ["left_over"]


def test_check_mode_reports_and_writes_nothing(ansible_bin, repo):
    src, dest, remote_tmp = repo
    res = stage(ansible_bin, remote_tmp, dict(src=str(src), dest=str(dest), models=["echo"]), check=True)
    assert res["changed"] and res["files"] == 1 and res["bytes"] == len("# echo\n")
    assert not dest.exists()


def test_no_models_is_no_change(ansible_bin, repo):
    src, dest, remote_tmp = repo
    res = stage(ansible_bin, remote_tmp, dict(src=str(src), dest=str(dest), models=[]))
    assert not res["changed"] and not res.get("failed") and not dest.exists()


@pytest.mark.parametrize("name", ["../etc", "a/b", ".", ""])
def test_bad_model_name_fails_naming_it(ansible_bin, repo, name):
    src, dest, remote_tmp = repo
    res = stage(ansible_bin, remote_tmp, dict(src=str(src), dest=str(dest), models=[name]))
    assert res["failed"] and "models" in res["msg"] and repr(name) in res["msg"]
    assert not dest.exists()


def test_missing_model_folder_fails_naming_it(ansible_bin, repo):
    src, dest, remote_tmp = repo
    res = stage(ansible_bin, remote_tmp, dict(src=str(src), dest=str(dest), models=["echo", "absent_model"]))
    assert res["failed"] and str(src / "absent_model") in res["msg"]
    assert not dest.exists()


def test_broken_link_fails_before_anything_is_sent(ansible_bin, repo):
    src, dest, remote_tmp = repo
    (src / "echo" / "1" / "weights.bin").symlink_to(src / "nowhere.bin")
    res = stage(ansible_bin, remote_tmp, dict(src=str(src), dest=str(dest), models=["echo"]))
    assert res["failed"] and str(src / "echo" / "1" / "weights.bin") in res["msg"]
    assert not dest.exists()


def run_module(args):
    """The module file alone, as Ansible runs it (arguments on stdin), fed archives the controller never sends."""
    return run_module_file("model_stage", args)


@pytest.fixture
def archive(repo, tmp_path):
    src, dest, _remote_tmp = repo
    path = tmp_path / "models.tar"
    manifest = pack(entries(str(src), ["add_sub", "echo"]), str(path))
    return src, dest, path, manifest


def test_file_changed_in_transit_fails_and_removes_what_was_staged(archive):
    src, dest, path, manifest = archive
    dest.mkdir(parents=True)
    (dest / "echo").mkdir()
    (dest / "echo" / "old.txt").write_text("an earlier staged copy")
    manifest["add_sub/2/model.py"] = "0" * 64
    res = run_module(
        dict(src=str(src), dest=str(dest), models=["add_sub", "echo"], _tmp_src=str(path), _manifest=manifest)
    )
    assert res["failed"] and "add_sub/2/model.py" in res["msg"] and "0" * 64 in res["msg"]
    assert os.listdir(dest) == []


def test_truncated_archive_fails_naming_the_models(archive):
    src, dest, path, manifest = archive
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    res = run_module(
        dict(src=str(src), dest=str(dest), models=["add_sub", "echo"], _tmp_src=str(path), _manifest=manifest)
    )
    assert res["failed"] and "add_sub, echo" in res["msg"]
    assert not (dest / "add_sub").exists() and not (dest / "echo").exists()


def test_member_outside_the_models_is_refused(archive):
    src, dest, path, manifest = archive
    res = run_module(dict(src=str(src), dest=str(dest), models=["echo"], _tmp_src=str(path), _manifest=manifest))
    assert res["failed"] and "add_sub" in res["msg"] and "outside the models" in res["msg"]
    assert not (dest / "add_sub").exists()


def test_internal_options_cannot_be_set_by_a_task(ansible_bin, repo):
    src, dest, remote_tmp = repo
    res = stage(ansible_bin, remote_tmp, dict(src=str(src), dest=str(dest), models=["echo"], _tmp_src="/etc/passwd"))
    assert res["failed"] and "_tmp_src" in res["msg"]


def test_a_run_packs_each_set_of_models_once_for_all_its_nodes(ansible_bin, repo, tmp_path):
    """Four nodes at once (forks): three need both models and share one archive, one needs echo alone. The run's
    archives are gone from the controller when it ends."""
    src, _dest, remote_tmp = repo
    local_tmp = tmp_path / "local-tmp"
    inventory = tmp_path / "hosts.json"
    hosts = {f"node{i}": {} for i in range(3)} | {"node3": {"wanted": ["echo"]}}
    node_vars = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory.write_text(json.dumps({"all": {"hosts": hosts, "vars": node_vars}}))
    env = dict(
        os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="true", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
        ANSIBLE_CALLBACK_RESULT_FORMAT="json", ANSIBLE_REMOTE_TMP=str(remote_tmp), ANSIBLE_LOCAL_TEMP=str(local_tmp),
        ANSIBLE_FORKS="4",
    )  # fmt: skip
    nodes = tmp_path / "nodes"
    args = dict(
        src=str(src), dest=f"{nodes}/{{{{ inventory_hostname }}}}", models="{{ wanted | default(['add_sub', 'echo']) }}"
    )
    proc = subprocess.run(
        [ansible_bin, "all", "-i", str(inventory), "-m", "gpufleet.triton.model_stage", "-a", json.dumps(args)],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    hosts = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]
    assert sorted(hosts[f"node{i}"]["archive_shared"] for i in range(3)) == [False, True, True], hosts
    assert hosts["node3"]["archive_shared"] is False and hosts["node3"]["models"] == ["echo"], hosts["node3"]
    for i in range(3):
        assert tree(nodes / f"node{i}" / "add_sub") == tree(src / "add_sub")
        weights = nodes / f"node{i}" / "add_sub" / "2" / "model.py"
        assert weights.read_bytes() == (src / "add_sub" / "2" / "model.py").read_bytes()
    assert tree(nodes / "node3") == ["echo", "echo/1", "echo/1/model.py"]
    assert list(local_tmp.iterdir()) == [], "the run's archives were left on the controller"
    assert list(remote_tmp.iterdir()) == []


def test_the_archive_size_estimate_is_an_upper_bound(repo, tmp_path):
    src, _dest, _remote_tmp = repo
    found = entries(str(src), ["add_sub", "echo"])
    pack(found, tmp_path / "models.tar")
    packed = (tmp_path / "models.tar").stat().st_size
    assert packed <= archive_size(found) <= packed + 1536 * len(found) + 10240, (packed, archive_size(found))


def test_a_controller_folder_without_room_fails_before_packing(tmp_path):
    """The check reads the real free space of a real folder; the entry list asks for more than that."""
    free = shutil.disk_usage(tmp_path).free
    big = os.stat_result((stat.S_IFREG | 0o644, 1, 1, 1, 0, 0, free, 0, 0, 0))
    what = "the archive of the models llm"
    with pytest.raises(AnsibleActionFail) as failed:
        check_controller_room([("llm/1/model.bin", "/srv/llm/1/model.bin", big)], what, str(tmp_path))
    msg = str(failed.value)
    assert msg.startswith(f"the controller's local temporary folder {tmp_path} has {free >> 20} MiB free"), msg
    assert "the archive of the models llm (" in msg and "ANSIBLE_LOCAL_TEMP" in msg and "nothing was sent" in msg
    small = os.stat_result((stat.S_IFREG | 0o644, 1, 1, 1, 0, 0, 1 << 20, 0, 0, 0))
    check_controller_room([("llm/1/model.bin", "/srv/llm/1/model.bin", small)], what, str(tmp_path))
