"""verified_copy on generated options and destinations.

The node side runs in process, both of its calls: the probe (does dest already hold the file?) and the install of a
copy the action plugin has transferred (`_tmp_src`). Each example gets a fresh folder with the node's folder, a folder
outside it (which nothing may touch, even through a link) and the transferred copy. The action plugin's own checks on
the controller run through one `ansible-playbook -vvv` over a fixed set of tasks, and its room check (plugin_utils
`_room.check_room`) on generated answers from the node's `df`.
"""

from __future__ import annotations

import grp
import hashlib
import json
import os
import pwd
import re
import shlex
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from _harness import Snapshot, run_module
from ansible.errors import AnsibleActionFail
from ansible_collections.gpufleet.triton.plugins.modules import verified_copy
from ansible_collections.gpufleet.triton.plugins.plugin_utils._room import check_room, room_shortfall
from hypothesis import given
from hypothesis import strategies as st

DATA = b"image layer\n" * 64
SHA = hashlib.sha256(DATA).hexdigest()
OTHER = b"an older image\n"
MAX_ID = 2**32 - 2  # chown's (uid_t)-1 means "leave unchanged"

# For each option: values the module must take, and values it must refuse (naming the option) before touching anything.
GOOD = {
    "mode": st.one_of(
        st.sampled_from([None, "0640", "644", "07777", "0o600", 0o640, 0, "u=rw,g=r,o=", "a+r", "u+x,go-w"]),
        st.integers(0, 0o7777),
    ),
    "directory_mode": st.sampled_from([None, "0750", "700", 0o755, "0700"]),
    "owner": st.one_of(st.sampled_from([None, "root", "0", 0, "65534", str(MAX_ID)]), st.integers(0, MAX_ID)),
    "group": st.one_of(st.sampled_from([None, "root", "0", 0, "65534", str(MAX_ID)]), st.integers(0, MAX_ID)),
    "sha256": st.sampled_from([SHA, SHA.upper()]),
    "attributes": st.none(),  # valid flags run lsattr/chattr, whose support depends on the file system
}
BAD = {
    "mode": st.one_of(
        st.sampled_from(
            [
                *("-1", -1, "abc", "0999", "017777", 0o10000, 2**40, "9" * 60, True, 1.5, ["0640"], {"m": 1}, ""),
                *("0640\n", "\u0666\u0664\u0660", "u=rw,", "z=rw", "u", float("nan"), float("inf")),
            ]
        ),
        st.integers(max_value=-1),
        st.integers(min_value=0o10000),
    ),
    "directory_mode": st.sampled_from(["-1", "u=rwx", "0950", "07777\n", 2**33, -0o755, True, "", "000750", 7.5]),
    "owner": st.one_of(
        st.sampled_from(
            [str(MAX_ID + 1), str(2**64), 2**40, "-1", -5, "\u0663", "²", "no-such-user", "ro\x00ot", True]
        ),
        st.integers(max_value=-1),
        st.integers(min_value=MAX_ID + 1),
    ),
    "group": st.one_of(
        st.sampled_from([str(2**32), "-1", "\u0663", "²", "no-such-group", "wh\x00eel", 1.5, False, [0]]),
        st.integers(max_value=-1),
        st.integers(min_value=MAX_ID + 1),
    ),
    "sha256": st.one_of(
        st.sampled_from([SHA[:-1], SHA + "0", "", "g" * 64, " " + SHA[1:], SHA[:-1] + "\n", "\uff10" * 64]),
        st.text(max_size=80).filter(lambda text: len(text) != 64),
    ),
    "attributes": st.sampled_from(["+q", "=i,", "=i", "no such flag", "-", "+", "=", "+i\n"]),
}


@st.composite
def options(draw):
    """({option: value}, [the options given a value the module must refuse]): none bad about half the time."""
    bad = draw(st.one_of(st.just(set()), st.sets(st.sampled_from(sorted(BAD)), min_size=1, max_size=2)))
    values = {name: draw(BAD[name] if name in bad else GOOD[name]) for name in GOOD}
    return values, sorted(bad)


DESTS = st.sampled_from(
    [
        "missing",
        "same",
        "other",
        "folder",
        "fifo",
        "socket",
        "link_out_same",
        "link_out_other",
        "link_out_dir",
        "dangling",
        "loop",
        "deep_missing",
        "under_file",
        "readonly_parent",
        "trailing_slash",
        "nul",
        "long_name",
        "odd_name",
    ]
)
# A destination that is or leads to something other than a regular file must be refused, whatever else is asked.
BAD_DEST_OPTION = {"trailing_slash", "nul"}  # refused as an option, before dest is looked at
NOT_A_FILE = {"folder", "fifo", "socket", "link_out_dir", "loop", "under_file", "trailing_slash", "nul", "long_name"}


def _make_dest(kind: str, node: Path, outside: Path) -> str:
    """Create what `kind` says at the destination; the dest option's value."""
    dest = node / "image.tar"
    if kind == "same":
        dest.write_bytes(DATA)
        dest.chmod(0o600)
    elif kind == "other":
        dest.write_bytes(OTHER)
    elif kind == "folder":
        dest.mkdir()
        (dest / "inside").write_bytes(OTHER)
    elif kind == "fifo":
        os.mkfifo(dest)
    elif kind == "socket":
        os.mknod(dest, 0o600 | stat.S_IFSOCK)
    elif kind == "link_out_same":
        dest.symlink_to(outside / "same.bin")
    elif kind == "link_out_other":
        dest.symlink_to(outside / "other.bin")
    elif kind == "link_out_dir":
        dest.symlink_to(outside)
    elif kind == "dangling":
        dest.symlink_to(node / "nothing")
    elif kind == "loop":
        dest.symlink_to(dest)
    elif kind == "deep_missing":
        dest = node / "a" / "b" / "image.tar"
    elif kind == "under_file":
        (node / "file").write_bytes(OTHER)
        dest = node / "file" / "image.tar"
    elif kind == "readonly_parent":
        (node / "ro").mkdir()
        dest = node / "ro" / "image.tar"
        dest.write_bytes(OTHER)
        (node / "ro").chmod(0o555)
    elif kind == "trailing_slash":
        return str(dest) + "/"
    elif kind == "nul":
        return str(node / "ima\x00ge.tar")
    elif kind == "long_name":
        dest = node / ("x" * 300)
    elif kind == "odd_name":
        # valid Unicode only: a task cannot carry a non-UTF-8 name (a lone surrogate in the arguments makes
        # AnsibleModule() itself raise, in ansible-core's _log_invocation, before any module code runs)
        dest = node / "ïm age\n\u202e\t'$(x).tar"
    return str(dest)


def _world(root: Path, kind: str) -> tuple[Path, Path, Path, str]:
    node, outside, tmp = root / "node", root / "outside", root / "tmp"
    for folder in (node, outside, tmp):
        folder.mkdir()
    (outside / "same.bin").write_bytes(DATA)
    (outside / "other.bin").write_bytes(OTHER)
    (outside / "same.bin").chmod(0o644)
    (tmp / "image.tar").write_bytes(DATA)
    return node, outside, tmp, _make_dest(kind, node, outside)


def _names_option(msg: str, names) -> bool:
    return any(name in msg for name in names)


def _uid(value) -> int:
    return int(value) if str(value).isdigit() else pwd.getpwnam(str(value)).pw_uid


def _gid(value) -> int:
    return int(value) if str(value).isdigit() else grp.getgrnam(str(value)).gr_gid


def _allowed_changes(node: Path, dest: str) -> set:
    """Paths under node a successful run may change: dest and the folders above it."""
    rel = Path(os.path.relpath(dest, node))
    return {str(rel)} | {str(parent) for parent in rel.parents if str(parent) != "."}


@given(
    kind=DESTS,
    install=st.booleans(),
    check_mode=st.booleans(),
    options=options(),
    checksum_cache=st.booleans(),
)
def test_generated_options_and_destinations(kind, install, check_mode, options, checksum_cache):
    check_mode = check_mode and not install  # the action plugin sends nothing in check mode
    with tempfile.TemporaryDirectory(prefix="fz-vc-") as tmpdir:
        root = Path(tmpdir)
        node, outside, tmp, dest = _world(root, kind)
        values, refused = options
        args = {name: value for name, value in values.items() if value is not None}
        args.update(src="/srv/images/image.tar", dest=dest, checksum_cache=checksum_cache, _src_size=len(DATA))
        if install:
            args["_tmp_src"] = str(tmp / "image.tar")
        refused = [*refused, "dest"] if kind in BAD_DEST_OPTION else refused
        before, outside_before = Snapshot.of(root), Snapshot.of(outside)
        try:
            run = run_module(verified_copy.main, args, check_mode=check_mode, timeout=20)
            after = Snapshot.of(root)
        finally:
            if (node / "ro").exists():  # so that the folder can be removed (by a user other than root)
                (node / "ro").chmod(0o755)

        assert not Snapshot.of(outside).diff(outside_before), f"wrote outside dest's folder: {run.result}"
        # nor the sha256 record, on the file a link at dest points to
        assert not os.listxattr(outside / "same.bin"), f"recorded on the file behind a link: {run.result}"
        if refused:
            # refused before anything was touched, the transferred copy included (the action plugin removes it)
            assert run.failed, f"{refused} accepted: {run.result}"
            assert _names_option(run.msg, refused), f"{run.msg!r} names none of {refused}"
            assert not before.diff(after), f"a refused option changed {before.diff(after)}"
            return
        node_changes = {path[len("node/") :] for path in before.diff(after) if path.startswith("node/")}
        if kind in NOT_A_FILE:
            assert run.failed, f"dest {dest!r} ({kind}) was not refused: {run.result}"
        if run.failed:
            assert run.msg, run.result
            assert not node_changes, f"a failed run changed {node_changes}: {run.msg}"
            return
        if kind == "deep_missing" and values["directory_mode"] is None:
            assert check_mode, f"a missing folder without directory_mode was accepted: {run.result}"
        assert node_changes <= _allowed_changes(node, dest), f"changed {node_changes} beside {dest}"
        if install:
            st_dest = os.lstat(dest)
            assert stat.S_ISREG(st_dest.st_mode) and Path(dest).read_bytes() == DATA, run.result
            octal = values["mode"]
            if isinstance(octal, str) and octal.lstrip("0o").isdigit():
                octal = int(octal, 8)
            if isinstance(octal, int):
                assert stat.S_IMODE(st_dest.st_mode) == octal, f"mode {octal!r} gave {st_dest.st_mode:o}"
            for name, lookup, id_of in (("owner", _uid, "st_uid"), ("group", _gid, "st_gid")):
                if values[name] is not None:
                    assert getattr(st_dest, id_of) == lookup(values[name]), (name, values[name], run.result)
            created = [node / path for path in node_changes if path != os.path.relpath(dest, node)]
            folder_mode = values["directory_mode"]
            for folder in created:
                want = int(folder_mode, 8) if isinstance(folder_mode, str) else folder_mode
                assert stat.S_IMODE(folder.stat().st_mode) == want, (folder, folder_mode)
        else:
            assert run.result["copied"] == (kind not in ("same", "link_out_same")), run.result
            assert set(after.entries) == set(before.entries), "the probe created or removed a file"


@given(kind=st.sampled_from(["missing", "other", "same", "dangling", "link_out_other"]), garbage=st.binary(max_size=64))
def test_a_copy_with_another_sha256_is_removed_and_dest_kept(kind, garbage):
    """The transferred copy does not match: it is removed and dest (whatever it was) stays as it was."""
    with tempfile.TemporaryDirectory(prefix="fz-vc-") as tmpdir:
        root = Path(tmpdir)
        node, _outside, tmp, dest = _world(root, kind)
        (tmp / "image.tar").write_bytes(garbage)
        before = Snapshot.of(node)
        run = run_module(
            verified_copy.main,
            {"src": "image.tar", "dest": dest, "sha256": SHA, "_tmp_src": str(tmp / "image.tar"), "mode": "0644"},
        )
        assert run.failed and SHA in run.msg and hashlib.sha256(garbage).hexdigest() in run.msg, run.result
        assert not before.diff(Snapshot.of(node)) and not (tmp / "image.tar").exists()


@given(kind=st.sampled_from(["gone", "folder", "fifo", "dangling"]))
def test_a_transferred_copy_that_is_not_a_file_fails_naming_it(kind):
    """`_tmp_src` is the action plugin's, but a copy that vanished or is not a regular file must not hang or crash."""
    with tempfile.TemporaryDirectory(prefix="fz-vc-") as tmpdir:
        root = Path(tmpdir)
        node, _outside, tmp, dest = _world(root, "other")
        copy = tmp / "image.tar"
        copy.unlink()
        if kind == "folder":
            copy.mkdir()
        elif kind == "fifo":
            os.mkfifo(copy)
        elif kind == "dangling":
            copy.symlink_to(tmp / "nothing")
        before = Snapshot.of(node)
        args = {"src": "i", "dest": dest, "sha256": SHA, "_tmp_src": str(copy)}
        run = run_module(verified_copy.main, args, timeout=10)
        assert run.failed and str(copy) in run.msg, run.result
        assert not before.diff(Snapshot.of(node))


PLAYBOOK_TASKS = [
    # (name, extra task args, the text the failure must carry)
    ("src a list", {"src": ["a", "b"]}, "src must be"),
    ("mode -1 without probe", {"mode": "-1", "probe": False}, "mode"),
    ("sha256 junk without probe", {"sha256": "xyz", "probe": False}, "sha256 must be 64 hexadecimal digits"),
    ("directory_mode with a newline", {"directory_mode": "0750\n", "probe": False}, "directory_mode must be"),
    ("owner -1", {"owner": "-1"}, "owner"),
    ("owner unknown on the node (its module says)", {"owner": "no-such-user-here"}, "owner 'no-such-user-here'"),
    ("group unknown without probe", {"group": "no-such-group", "probe": False}, "group 'no-such-group'"),
    ("group too big", {"group": str(2**32), "probe": False}, "group"),
    ("dest empty", {"dest": ""}, "dest is required"),
    ("dest a list", {"dest": ["a"]}, "dest must be a path on the node"),
    ("probe junk", {"probe": [1]}, "probe must be a boolean"),
]


def test_the_action_plugin_refuses_bad_options_before_sending(tmp_path, ansible_bin):
    """Through ansible-playbook -vvv: each bad option fails its task with a message naming it, nothing is sent
    (the remote temporary folder stays empty, dest does not appear) and no traceback is printed. An exception that
    escapes the action plugin shows (with tracebacks off, ansible-core's default) as 'Task failed: <exception>',
    which lacks the text each task expects."""
    src = tmp_path / "image.tar"
    src.write_bytes(DATA)
    remote_tmp = tmp_path / "remote-tmp"
    remote_tmp.mkdir()
    dest = tmp_path / "node" / "image.tar"
    dest.parent.mkdir()
    tasks = []
    for name, change, _needle in PLAYBOOK_TASKS:
        task_args = dict({"src": str(src), "dest": str(dest), "sha256": SHA}, **change)
        tasks.append({"name": name, "gpufleet.triton.verified_copy": task_args, "ignore_errors": True})
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_REMOTE_TMP=str(remote_tmp), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    env.update(ANSIBLE_LOAD_CALLBACK_PLUGINS="true", ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    cmd = [ansible_bin + "-playbook", "-vvv", "-c", "local", "-i", "localhost,", str(playbook)]
    cmd += ["-e", f"ansible_python_interpreter={sys.executable}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, check=False)
    assert "Traceback (most recent call last)" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    results = json.loads(proc.stdout[re.search(r"^\{$", proc.stdout, re.M).start() :])["plays"][0]["tasks"]
    assert len(results) == len(PLAYBOOK_TASKS), proc.stdout[-3000:]
    for (name, _change, needle), task in zip(PLAYBOOK_TASKS, results):
        result = task["hosts"]["localhost"]
        assert result.get("failed") and needle in result.get("msg", ""), (name, result)
    assert not dest.exists() and not list(remote_tmp.iterdir())


class _Shell:
    tmpdir = "/home/deploy/.ansible/tmp/ansible-tmp-1"

    def quote(self, text):
        return shlex.quote(text)


class _Connection:
    _shell = _Shell()


class _Action:
    """What check_room uses of an action plugin: the connection's shell and a command on the node."""

    _connection = _Connection()

    def __init__(self, rc, stdout):
        self.answer = {"rc": rc, "stdout": stdout}

    def _low_level_execute_command(self, cmd, sudoable=True):
        return self.answer


KIB = st.one_of(st.integers(-(2**40), 2**62).map(str), st.sampled_from(["-", "", "1.5", "١٢", "NaN", "9" * 30]))


@st.composite
def df_answers(draw):
    """(rc, df -Pk's answer, (total KiB, free KiB) when it is a well-formed one)."""
    if draw(st.booleans()):
        total, free = draw(st.integers(0, 2**40)), draw(st.integers(0, 2**40))
        line = f"/dev/vda1 {total} {max(total - free, 0)} {free} 50% /home"
        return 0, "Filesystem 1024-blocks Used Available Capacity Mounted on\n" + line + "\n", (total, free)
    fields = [draw(st.sampled_from(["/dev/vda1", "", "tmpfs"])), *(draw(KIB) for _ in range(3))]
    fields += [draw(st.sampled_from(["50%", "-"])), draw(st.sampled_from(["/", "/mnt/with space", ""]))]
    text = draw(st.one_of(st.just(" ".join(fields)), st.text(max_size=200)))
    return draw(st.sampled_from([0, 0, 1, 127, None])), text, None


@given(answer=df_answers(), size=st.integers(0, 2**20))
def test_the_room_check_answers_or_refuses_naming_the_folder(answer, size, tmp_path_factory):
    """check_room on any answer from the node: None (room, or an answer it cannot read, left to the transfer) or a
    refusal naming the temporary folder and what it needs; never another exception."""
    rc, stdout, parsed = answer
    src = tmp_path_factory.mktemp("room") / "image.tar"
    with src.open("wb") as handle:
        handle.truncate(size)
    try:
        check_room(_Action(rc, stdout), str(src), "/var/cache/images/image.tar", "image.tar")
        refused = None
    except AnsibleActionFail as exc:
        refused = str(exc)
        assert _Shell.tmpdir in refused and "nothing was sent" in refused and "ansible_remote_tmp" in refused, refused
    if parsed is not None:
        total, free = (n * 1024 for n in parsed)
        assert (refused is None) == (room_shortfall(free, total, size, "x") is None)
        assert (refused is None) == (free - size >= min(1 << 30, total // 20)), (parsed, size, refused)
