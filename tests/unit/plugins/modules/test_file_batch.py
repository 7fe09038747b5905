"""gpufleet.triton.file_batch through `ansible` and `ansible-playbook` (local connection)."""

from __future__ import annotations

import json
import os
import pwd
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from adhoc import run_adhoc

MODULE = "gpufleet.triton.file_batch"
SECRET = "s3cr3t-token-7f1c9a"  # noqa: S105 - a made-up secret the output must not show


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def leftovers(*folders):
    """Temporary files of the module (or anything hidden) left in the folders."""
    return [str(p) for folder in folders if Path(folder).is_dir() for p in Path(folder).iterdir() if p.name[0] == "."]


def file_batch(ansible_bin, args, check=False, env=None, extra=None):
    _rc, result = run_adhoc(ansible_bin, MODULE, args, check=check, env=env, extra=extra)
    return result


def run_play(ansible_bin, tmp_path, task, templates=None, files=None, diff=False, verbosity=0, json_out=True):
    """One play on localhost whose role `fs` runs `task`; templates/ and files/ of the role hold the given files.

    Returns (rc, the task's result) with the json callback, or (rc, stdout + stderr) with the default one.
    """
    role = tmp_path / "play" / "roles" / "fs"
    for folder, found in (("templates", templates or {}), ("files", files or {})):
        for name, text in found.items():
            (role / folder / name).parent.mkdir(parents=True, exist_ok=True)
            (role / folder / name).write_text(text)
    (role / "tasks").mkdir(parents=True, exist_ok=True)
    (role / "tasks" / "main.yml").write_text(json.dumps([task]))
    play = tmp_path / "play" / "play.yml"
    play.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "roles": ["fs"]}]))
    env = dict(
        os.environ, ANSIBLE_NOCOLOR="true", ANSIBLE_ROLES_PATH=str(role.parent), ANSIBLE_LOAD_CALLBACK_PLUGINS="true"
    )
    if json_out:
        env.update(ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    else:
        env.update(ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default")
    cmd = [str(Path(ansible_bin).with_name("ansible-playbook")), str(play), "-i", "localhost,", "-c", "local",
           "-e", f"ansible_python_interpreter={sys.executable}", "-e", "greeting=hello"]  # fmt: skip
    cmd += ["--diff"] if diff else []
    cmd += ["-" + "v" * verbosity] if verbosity else []
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, check=False)
    if not json_out:
        return proc.returncode, proc.stdout + proc.stderr
    try:
        return proc.returncode, json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError(f"unexpected output rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}") from None


@pytest.fixture
def node(tmp_path):
    root = tmp_path / "node"
    root.mkdir()
    return root


def first_set(node):
    conf = node / "etc" / "triton-server"
    return dict(
        directories=[dict(path=str(node / "etc"), mode="0755"), dict(path=str(conf), mode="0700")],
        files=[
            dict(path=str(conf / "env"), content=f"TOKEN={SECRET}\n", mode="0600"),
            dict(path=str(conf / "run.sh"), content="#!/bin/sh\nexec true\n", mode="0700"),
            dict(path=str(node / "unit.service"), content="[Unit]\nDescription=x\n", mode="0644"),
        ],
    )


def test_first_write_then_no_change(ansible_bin, node):
    args = first_set(node)
    conf = node / "etc" / "triton-server"
    res = file_batch(ansible_bin, args)
    assert res["changed"] and not res.get("failed"), res
    assert res["directories"] == [dict(path=str(node / "etc"), changed=True), dict(path=str(conf), changed=True)]
    paths = [f["path"] for f in args["files"]]
    assert res["changed_paths"] == paths
    assert res["files"] == [dict(path=p, changed=True, content_changed=True) for p in paths]
    assert mode_of(conf) == 0o700 and mode_of(node / "etc") == 0o755
    assert [mode_of(p) for p in paths] == [0o600, 0o700, 0o644]
    assert (conf / "env").read_text() == f"TOKEN={SECRET}\n"
    assert (conf / "run.sh").read_text() == "#!/bin/sh\nexec true\n"
    assert leftovers(conf, node) == []

    again = file_batch(ansible_bin, args)
    assert not again["changed"] and again["changed_paths"] == []
    assert [f["changed"] or f["content_changed"] for f in again["files"]] == [False] * 3
    assert [d["changed"] for d in again["directories"]] == [False, False]


def test_missing_parents_of_a_listed_folder_are_made_0755(ansible_bin, node):
    deep = node / "a" / "b" / "c"
    res = file_batch(ansible_bin, dict(directories=[dict(path=str(deep), mode="0700")],
                                     files=[dict(path=str(deep / "f"), content="x", mode="0640")]))  # fmt: skip
    assert res["changed"] and res["directories"] == [dict(path=str(deep), changed=True)], res
    assert (mode_of(node / "a"), mode_of(node / "a" / "b"), mode_of(deep)) == (0o755, 0o755, 0o700)
    assert mode_of(deep / "f") == 0o640


def test_owner_and_group_by_name_and_number(ansible_bin, node):
    me = pwd.getpwuid(os.getuid()).pw_name
    args = dict(
        directories=[dict(path=str(node / "d"), mode="0750", owner=me, group=os.getgid())],
        files=[dict(path=str(node / "d" / "f"), content="x\n", mode="0640", owner=os.getuid(), group=str(os.getgid()))],
    )
    res = file_batch(ansible_bin, args)
    assert res["changed"] and not res.get("failed"), res
    st = os.stat(node / "d" / "f")
    assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())
    assert not file_batch(ansible_bin, args)["changed"]


def test_unknown_owner_fails_naming_path_and_owner(ansible_bin, node):
    args = first_set(node)
    args["files"][1]["owner"] = "no-such-user-gpufleet"
    res = file_batch(ansible_bin, args)
    assert res["failed"] and "files[1]" in res["msg"] and args["files"][1]["path"] in res["msg"]
    assert "unknown owner no-such-user-gpufleet" in res["msg"]
    assert list(node.iterdir()) == [], "nothing may be written when an item is bad"


def test_content_change_with_backup(ansible_bin, node):
    path = node / "settings.conf"
    path.write_text("old\n")
    path.chmod(0o600)
    item = dict(path=str(path), content="new\n", mode="0600", backup=True)
    res = file_batch(ansible_bin, dict(files=[item]))
    entry = res["files"][0]
    assert res["changed"] and entry["changed"] and entry["content_changed"], res
    backup = Path(entry["backup_file"])
    assert backup.parent == node and backup.read_text() == "old\n" and mode_of(backup) == 0o600
    assert path.read_text() == "new\n"
    again = file_batch(ansible_bin, dict(files=[item]))
    assert not again["changed"] and "backup_file" not in again["files"][0]
    assert leftovers(node) == []


def test_no_backup_by_default_and_for_new_files(ansible_bin, node):
    (node / "a").write_text("old\n")
    files = [dict(path=str(node / "a"), content="new\n", mode="0644"),
             dict(path=str(node / "b"), content="b\n", mode="0644", backup=True)]  # fmt: skip
    res = file_batch(ansible_bin, dict(files=files))
    assert [("backup_file" in f) for f in res["files"]] == [False, False]
    assert sorted(p.name for p in node.iterdir()) == ["a", "b"]


def test_mode_only_change(ansible_bin, node):
    args = first_set(node)
    file_batch(ansible_bin, args)
    env = Path(args["files"][0]["path"])
    env.chmod(0o644)
    before = env.stat().st_ino
    res = file_batch(ansible_bin, args)
    assert res["changed"] and res["changed_paths"] == [str(env)]
    assert res["files"][0] == dict(path=str(env), changed=True, content_changed=False)
    assert mode_of(env) == 0o600 and env.stat().st_ino == before, "the file is fixed in place, not rewritten"


def test_folder_mode_is_fixed(ansible_bin, node):
    args = first_set(node)
    file_batch(ansible_bin, args)
    (node / "etc" / "triton-server").chmod(0o755)
    res = file_batch(ansible_bin, args)
    assert res["changed"] and res["changed_paths"] == []
    assert [d["changed"] for d in res["directories"]] == [False, True]
    assert mode_of(node / "etc" / "triton-server") == 0o700


def test_check_mode_writes_nothing(ansible_bin, node):
    res = file_batch(ansible_bin, first_set(node), check=True)
    assert res["changed"] and not res.get("failed"), res
    assert [d["changed"] for d in res["directories"]] == [True, True]
    assert len(res["changed_paths"]) == 3 and all(f["content_changed"] for f in res["files"])
    assert list(node.iterdir()) == []

    file_batch(ansible_bin, first_set(node))
    changed = first_set(node)
    changed["files"][2]["content"] = "[Unit]\nDescription=y\n"
    changed["files"][2]["backup"] = True
    res = file_batch(ansible_bin, changed, check=True)
    assert res["changed_paths"] == [changed["files"][2]["path"]] and "backup_file" not in res["files"][2]
    assert (node / "unit.service").read_text() == "[Unit]\nDescription=x\n"
    assert sorted(p.name for p in node.iterdir()) == ["etc", "unit.service"]


def test_diff_mode_returns_before_and_after(ansible_bin, node):
    (node / "a.conf").write_text("port=1\n")
    (node / "blob.bin").write_bytes(b"\x00\x01")
    args = dict(
        files=[
            dict(path=str(node / "a.conf"), content="port=2\n", mode="0644"),
            dict(path=str(node / "same.conf"), content="same\n", mode="0644"),
            dict(path=str(node / "blob.bin"), content="text now\n", mode="0644"),
        ]
    )
    (node / "same.conf").write_text("same\n")
    (node / "same.conf").chmod(0o644)
    res = file_batch(ansible_bin, args, env={"ANSIBLE_DIFF_ALWAYS": "true"})
    assert res["diff"] == [
        dict(before_header=str(node / "a.conf"), after_header=str(node / "a.conf"), before="port=1\n", after="port=2\n")
    ], "only the text file whose content changes has a diff"
    assert "diff" not in file_batch(ansible_bin, args, env={"ANSIBLE_DIFF_ALWAYS": "true"})


def test_symlink_is_replaced_not_followed(ansible_bin, node):
    target = node / "target"
    target.write_text("keep me\n")
    (node / "link").symlink_to(target)
    res = file_batch(ansible_bin, dict(files=[dict(path=str(node / "link"), content="file\n", mode="0644")]))
    assert res["files"][0]["content_changed"]
    assert not (node / "link").is_symlink() and (node / "link").read_text() == "file\n"
    assert target.read_text() == "keep me\n"


@pytest.mark.parametrize(
    ("index", "change", "words"),
    [
        (1, dict(path="relative/run.sh"), "path must be absolute"),
        (0, dict(mode=644), "mode must be an octal string"),
        (0, dict(mode=420), "mode must be an octal string"),
        (2, dict(mode="rw"), "mode must be an octal string"),
        (2, dict(mode="u=rw,g=r"), "mode must be an octal string"),
    ],
)  # fmt: skip
def test_bad_item_fails_naming_it_and_writes_nothing(ansible_bin, node, index, change, words):
    args = first_set(node)
    args["files"][index].update(change)
    res = file_batch(ansible_bin, args)
    assert res["failed"], res
    assert f"files[{index}] ({args['files'][index]['path']})" in res["msg"] and words in res["msg"], res["msg"]
    assert list(node.iterdir()) == []


def test_bad_folder_item_fails_naming_it(ansible_bin, node):
    args = first_set(node)
    args["directories"][1]["mode"] = 700
    res = file_batch(ansible_bin, args)
    assert res["failed"] and f"directories[1] ({args['directories'][1]['path']})" in res["msg"], res
    assert "mode must be an octal string" in res["msg"] and list(node.iterdir()) == []


def test_missing_parent_folder_fails_and_writes_nothing(ansible_bin, node):
    args = first_set(node)
    missing = node / "nowhere" / "ca.crt"
    args["files"].append(dict(path=str(missing), content="a certificate\n", mode="0644"))
    res = file_batch(ansible_bin, args)
    assert res["failed"] and f"files[3] ({missing})" in res["msg"], res
    assert "does not exist" in res["msg"] and str(missing.parent) in res["msg"]
    assert list(node.iterdir()) == []


def test_same_path_twice_fails(ansible_bin, node):
    args = first_set(node)
    args["files"].append(dict(args["files"][0]))
    res = file_batch(ansible_bin, args)
    assert res["failed"] and "files[3]" in res["msg"] and "the same path as files[0]" in res["msg"], res
    assert list(node.iterdir()) == []


def test_empty_files_is_no_change(ansible_bin):
    res = file_batch(ansible_bin, dict(files=[]))
    assert not res["changed"] and not res.get("failed") and res["files"] == [] and res["directories"] == []


def test_failure_on_a_later_item_leaves_no_temp_file(ansible_bin, node, tmp_path):
    """The node's python may write at most 1-2 MiB per file (ulimit -f): item 1 is too big and fails mid-write."""
    wrapper = tmp_path / "python-small-files"
    wrapper.write_text(f'#!/bin/sh\nulimit -f 2048\nexec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    args = dict(files=[dict(path=str(node / "small"), content="small\n", mode="0600"),
                       dict(path=str(node / "big"), content="{{ 'x' * 4000000 }}", mode="0600"),
                       dict(path=str(node / "later"), content="later\n", mode="0600")])  # fmt: skip
    env = {"ANSIBLE_PIPELINING": "true"}
    res = file_batch(ansible_bin, args, env=env, extra={"ansible_python_interpreter": str(wrapper)})
    assert res["failed"] and f"files[1] ({node / 'big'})" in res["msg"] and "cannot write it" in res["msg"], res
    assert res["files"] == [dict(path=str(node / "small"), changed=True, content_changed=True)]
    assert sorted(p.name for p in node.iterdir()) == ["small"], "no temporary file may be left behind"


def test_contents_from_the_template_and_file_lookups_of_a_role(ansible_bin, tmp_path, node):
    templates = {"unit.j2": "[Service]\nExec=serve --port {{ instance.port }} {{ greeting }}\n"}
    task = {
        "gpufleet.triton.file_batch": {
            "directories": [{"path": str(node / "conf"), "mode": "0700"}],
            "files": [
                {"path": str(node / "a.service"), "mode": "0644",
                 "content": "{{ lookup('ansible.builtin.template', 'unit.j2', "
                            "template_vars={'instance': {'port': 8000}}) }}"},
                {"path": str(node / "conf" / "ca.crt"), "mode": "0644",
                 "content": "{{ lookup('ansible.builtin.file', 'certs/ca.crt', rstrip=false) }}"},
                {"path": str(node / "conf" / "raw"), "content": "{% raw %}{{ not templated }}{% endraw %}\n",
                 "mode": "0600"},
            ],
        },
    }  # fmt: skip
    files = {"certs/ca.crt": "-----BEGIN CERTIFICATE-----\n{{ as is }}\n"}
    rc, res = run_play(ansible_bin, tmp_path, task, templates=templates, files=files)
    assert rc == 0 and res["changed"], res
    assert (node / "a.service").read_text() == "[Service]\nExec=serve --port 8000 hello\n"
    assert (node / "conf" / "ca.crt").read_text() == files["certs/ca.crt"]
    assert (node / "conf" / "raw").read_text() == "{{ not templated }}\n"
    assert mode_of(node / "conf") == 0o700 and mode_of(node / "conf" / "raw") == 0o600
    rc, again = run_play(ansible_bin, tmp_path, task, templates=templates, files=files)
    assert rc == 0 and not again["changed"] and again["changed_paths"] == []


def test_secret_not_in_verbose_output_of_a_no_log_task(ansible_bin, tmp_path, node):
    """-vvv with the default callback, diff asked for: a task with no_log shows no content (contents are arguments,
    shown in the invocation without it)."""
    rc, out = run_play(ansible_bin, tmp_path, {MODULE: first_set(node), "no_log": True}, diff=True, verbosity=3,
                       json_out=False)  # fmt: skip
    assert rc == 0 and "changed" in out and SECRET not in out, out[-3000:]
    changed = first_set(node)
    changed["files"][0]["content"] = f"TOKEN={SECRET}-rotated\n"
    rc, out = run_play(ansible_bin, tmp_path, {MODULE: changed, "no_log": True}, diff=True, verbosity=3,
                       json_out=False)  # fmt: skip
    assert rc == 0 and "changed" in out and SECRET not in out, out[-3000:]
    assert (node / "etc" / "triton-server" / "env").read_text() == f"TOKEN={SECRET}-rotated\n"
