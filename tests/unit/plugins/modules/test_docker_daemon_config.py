"""Unit tests for gpufleet.triton.docker_daemon_config: real files in tmp_path, the module run in its own process."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

MODULE = "ansible_collections.gpufleet.triton.plugins.modules.docker_daemon_config"


def run(args, check=False, diff=False):
    """The module's result, run as ansible-core's own debugging entry runs it (`python -m MODULE ARGS_JSON`): the same
    on every ansible-core this collection supports, where the in-process argument patching differs between them."""
    args = dict(args)
    if check:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    # tests/conftest.py points ANSIBLE_COLLECTIONS_PATH at its ansible_collections/gpufleet/triton tree.
    env = dict(os.environ, PYTHONPATH=os.environ["ANSIBLE_COLLECTIONS_PATH"])
    proc = subprocess.run([sys.executable, "-m", MODULE, json.dumps({"ANSIBLE_MODULE_ARGS": args})],
                          capture_output=True, text=True, env=env, timeout=60, check=False)  # fmt: skip
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"no JSON result (exit {proc.returncode}): {proc.stdout[-2000:]} {proc.stderr[-2000:]}")


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def daemon_json(tmp_path):
    path = tmp_path / "docker" / "daemon.json"
    path.parent.mkdir()
    path.write_text(
        json.dumps(
            {
                "foreign-key": "keep-me",
                "runtimes": {"nvidia": {"path": "nvidia-container-runtime", "runtimeArgs": []}},
                "log-opts": {"max-size": "10m", "tag": "{{.Name}}"},
            }
        )
    )
    path.chmod(0o644)
    return path


def test_creates_file_and_parent_dir(tmp_path):
    path = tmp_path / "etc" / "docker" / "daemon.json"
    res = run({"path": str(path), "settings": {"live-restore": True}})
    assert res["changed"] is True
    assert json.loads(path.read_text()) == {"live-restore": True}
    assert mode_of(path) == 0o644
    assert res["config"] == {"live-restore": True}


def test_merges_dicts_and_keeps_foreign_keys(daemon_json):
    res = run(
        {
            "path": str(daemon_json),
            "settings": {"log-driver": "json-file", "log-opts": {"max-size": "50m", "max-file": "5"}},
        }
    )
    assert res["changed"] is True
    content = json.loads(daemon_json.read_text())
    assert content["foreign-key"] == "keep-me"
    assert content["runtimes"]["nvidia"]["path"] == "nvidia-container-runtime"
    assert content["log-opts"] == {"max-size": "50m", "tag": "{{.Name}}", "max-file": "5"}
    assert content["log-driver"] == "json-file"
    assert list(content)[:3] == ["foreign-key", "runtimes", "log-opts"], "existing key order is kept"


def test_nested_runtime_merge_keeps_other_runtimes(daemon_json):
    run({"path": str(daemon_json), "settings": {"runtimes": {"crun": {"path": "/usr/bin/crun"}}}})
    content = json.loads(daemon_json.read_text())
    assert set(content["runtimes"]) == {"nvidia", "crun"}


def test_lists_and_scalars_replace(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text('{"registry-mirrors": ["https://a"], "debug": true}')
    run({"path": str(path), "settings": {"registry-mirrors": ["https://b"], "debug": False}})
    assert json.loads(path.read_text()) == {"registry-mirrors": ["https://b"], "debug": False}


def test_idempotent_and_formatting_only_is_no_change(daemon_json):
    settings = {"live-restore": True, "log-opts": {"max-size": "10m"}}
    assert run({"path": str(daemon_json), "settings": settings})["changed"] is True
    first = daemon_json.stat().st_mtime_ns, daemon_json.read_text()
    assert run({"path": str(daemon_json), "settings": settings})["changed"] is False
    assert (daemon_json.stat().st_mtime_ns, daemon_json.read_text()) == first
    # Same content written compactly by someone else: no rewrite.
    daemon_json.write_text(json.dumps(json.loads(daemon_json.read_text()), separators=(",", ":")))
    assert run({"path": str(daemon_json), "settings": settings})["changed"] is False


def test_remove_top_level_and_dotted(daemon_json):
    res = run({"path": str(daemon_json), "remove": ["foreign-key", "runtimes.nvidia", "absent.key", "nope"]})
    assert res["changed"] is True
    assert json.loads(daemon_json.read_text()) == {"runtimes": {}, "log-opts": {"max-size": "10m", "tag": "{{.Name}}"}}
    res = run({"path": str(daemon_json), "remove": ["foreign-key", "runtimes.nvidia"]})
    assert res["changed"] is False


def test_remove_key_with_dots_taken_literally(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text('{"a.b": 1, "a": {"b": 2}}')
    run({"path": str(path), "remove": ["a.b"]})
    assert json.loads(path.read_text()) == {"a": {"b": 2}}


def test_remove_on_missing_file_creates_nothing(tmp_path):
    path = tmp_path / "daemon.json"
    res = run({"path": str(path), "remove": ["x"]})
    assert res["changed"] is False
    assert not path.exists()


def test_requires_settings_or_remove(tmp_path):
    res = run({"path": str(tmp_path / "daemon.json")})
    assert res["failed"] is True
    assert "settings" in res["msg"] and "remove" in res["msg"]


def test_invalid_json_fails_before_writing(tmp_path):
    path = tmp_path / "daemon.json"
    bad = '{\n  "log-driver": "json-file",\n  "live-restore": tru\n}\n'
    path.write_text(bad)
    res = run({"path": str(path), "settings": {"debug": True}})
    assert res["failed"] is True
    assert str(path) in res["msg"]
    assert "line 3, column" in res["msg"]
    assert path.read_text() == bad
    assert os.listdir(tmp_path) == ["daemon.json"], "no temporary or backup file left"


def test_non_object_fails(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text("[1, 2]")
    res = run({"path": str(path), "settings": {"debug": True}})
    assert res["failed"] is True
    assert "JSON object" in res["msg"]


def test_empty_file_is_empty_config(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text("\n")
    res = run({"path": str(path), "settings": {"debug": True}})
    assert res["changed"] is True
    assert json.loads(path.read_text()) == {"debug": True}


def test_check_mode_writes_nothing(daemon_json, tmp_path):
    before = daemon_json.read_text()
    res = run({"path": str(daemon_json), "settings": {"debug": True}}, check=True, diff=True)
    assert res["changed"] is True
    assert res["config"]["debug"] is True
    assert daemon_json.read_text() == before
    assert '"debug": true' in res["diff"]["after"] and '"debug"' not in res["diff"]["before"]
    missing = tmp_path / "new" / "daemon.json"
    res = run({"path": str(missing), "settings": {"debug": True}}, check=True)
    assert res["changed"] is True
    assert not missing.parent.exists()


def test_diff_only_in_diff_mode(daemon_json):
    res = run({"path": str(daemon_json), "settings": {"debug": True}})
    assert "diff" not in res
    res = run({"path": str(daemon_json), "settings": {"debug": False}}, diff=True)
    assert res["diff"]["before_header"] == str(daemon_json)
    assert '"debug": true' in res["diff"]["before"] and '"debug": false' in res["diff"]["after"]


def test_mode_enforced(daemon_json):
    daemon_json.chmod(0o600)
    res = run({"path": str(daemon_json), "settings": {"foreign-key": "keep-me"}})
    assert res["changed"] is True
    assert mode_of(daemon_json) == 0o644
    res = run({"path": str(daemon_json), "settings": {"debug": True}, "mode": "0640"})
    assert mode_of(daemon_json) == 0o640
    res = run({"path": str(daemon_json), "settings": {"x": 1}, "mode": "rw"})
    assert res["failed"] is True and "octal" in res["msg"]


def test_backup(daemon_json):
    before = daemon_json.read_text()
    res = run({"path": str(daemon_json), "settings": {"debug": True}, "backup": True})
    assert res["backup_file"] and open(res["backup_file"]).read() == before
    res = run({"path": str(daemon_json), "settings": {"debug": True}, "backup": True})
    assert "backup_file" not in res


def test_follows_symlink(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("{}")
    link = tmp_path / "daemon.json"
    link.symlink_to(real)
    run({"path": str(link), "settings": {"debug": True}})
    assert link.is_symlink()
    assert json.loads(real.read_text()) == {"debug": True}


def test_engine_running_reads_the_pid_file(daemon_json, tmp_path):
    pid_file = tmp_path / "docker.pid"
    args = {"path": str(daemon_json), "settings": {"debug": True}, "pid_file": str(pid_file)}
    assert run(args)["engine_running"] is False  # no PID file: a fresh install
    pid_file.write_text(f"{os.getpid()}\n")
    assert run(args, check=True)["engine_running"] is True
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    pid_file.write_text(str(dead))
    assert run(args)["engine_running"] is False  # a stale file left by an engine that died
    pid_file.write_text("garbage")
    assert run(args)["engine_running"] is False
