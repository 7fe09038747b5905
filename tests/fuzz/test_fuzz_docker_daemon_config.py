"""docker_daemon_config on generated daemon.json files (every JSON type, invalid, non-UTF-8, deep, huge; a folder, a
FIFO, a socket, links) and generated settings, removals, modes and PID files.

The oracle is a small model of the module's contract: the file after a run holds exactly the old content with the
removals and the merge applied, compared with types (1 is not true, 3.0 is not 3), and every run that must fail fails
naming what is wrong while leaving every byte and mode as it was.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import socket
import stat
import tempfile
from pathlib import Path

from _harness import Snapshot, run_module
from ansible_collections.gpufleet.triton.plugins.modules import docker_daemon_config
from hypothesis import event, given
from hypothesis import strategies as st


def mostly(good, bad):
    """good three times in four, so that most runs get past the option checks to the file (one_of would weigh each
    branch of a union alike, and drops repeated ones)."""
    return st.integers(0, 3).flatmap(lambda pick: bad if pick == 0 else good)


# Few distinct keys, so that settings, removals and the existing file name the same keys often.
KEYS = st.sampled_from(["debug", "log-opts", "runtimes", "nvidia", "a.b", "max-size", "", "é"]) | st.text(max_size=4)
SCALARS = (
    st.none()
    | st.booleans()
    | st.sampled_from([0, 1, 3, 3.0, 1.0, 0.0, -0.0, 2**63, -(2**70)])
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=8,
)
OBJECTS = st.dictionaries(KEYS, VALUES, max_size=4)
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])
# A non-finite number somewhere in the settings: Ansible reads YAML's .nan/.inf into them, and dockerd rejects NaN.
BAD_SETTINGS = st.builds(
    lambda obj, key, bad: {**obj, key: {"x": [bad]}} if key.endswith("-") else {**obj, key: bad},
    OBJECTS,
    KEYS,
    NON_FINITE,
)


def canonical(value) -> str:
    """Equal only when the JSON is equal with types: json.dumps tells 1 from true and 3.0 from 3."""
    return json.dumps(value, sort_keys=True)


def encoded_object(obj, ascii_only: bool, indent) -> bytes:
    return json.dumps(obj, ensure_ascii=ascii_only, indent=indent).encode("utf-8")


# What may be at `path` before the run: (kind, content). Content is the bytes of a file (or of a link's target).
FILE_CONTENT = mostly(
    st.builds(encoded_object, OBJECTS, st.booleans(), st.sampled_from([None, 0, 2])),
    st.builds(lambda v: json.dumps(v).encode(), VALUES)  # every JSON type at the top
    | st.sampled_from(
        [
            b"",
            b" \n\t",
            b"{",
            b'{"a": 1,}',
            b'{"a": NaN}',
            b'{"a": Infinity}',
            b'{"a": 1e400}',  # a number json reads as inf
            b'{"a": "\xff\xfe"}',  # not UTF-8
            b"\xef\xbb\xbf{}",  # a UTF-8 byte order mark
            b'{"a": 1, "a": true}',
            b"[" * 100_000,  # deeper than Python's recursion limit
            b'{"a": ' * 50_000 + b"1" + b"}" * 50_000,
            b'{"big": "' + b"x" * (3 * 2**20) + b'"}',  # a 3 MiB file
        ]
    )
    | st.binary(max_size=40),
)
KINDS = st.sampled_from(
    ["file"] * 4 + ["missing", "missing", "link", "link", "dangling", "loop", "dir", "fifo", "socket"]
)
VALID_MODE = re.compile(r"^(?:0o?)?[0-7]{3}$")
GOOD_MODES = st.sampled_from(["0644", "644", "0600", "0640", "0400", "0o644", "0664", 0o644, 0o600, 0o640])
BAD_MODES = (
    st.sampled_from(["0666", "0777", "-1", "07777", "1644", "abc", "", " 0644", "0644\n", "8", "0x1a4", "1e3", "00644"])
    | st.sampled_from(["٠٦٤٤", "77777777777777777777", 0o777, 644, -1, 2**70, 420.0, True, None, [420]])
    | st.integers(min_value=-1, max_value=0o10000)
    | st.text(max_size=5)
)
MODES = mostly(GOOD_MODES, BAD_MODES)
PID_FILES = st.sampled_from(["missing", "fifo", "dir", "", "0", "-5", "abc", "\xff", "99999999999999999999999", "self"])


def expected_mode(mode):
    """The permissions the module must set, or None when it must refuse the mode (not 0-0777 or world-writable)."""
    if isinstance(mode, bool):
        return None
    if isinstance(mode, int):
        value = mode
    elif isinstance(mode, str) and VALID_MODE.match(mode):
        value = int(mode[2:] if mode.startswith("0o") else mode, 8)
    else:
        return None
    return value if 0 <= value <= 0o777 and not value & 0o002 else None


def finite(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite(v) for v in value.values())
    if isinstance(value, list):
        return all(finite(v) for v in value)
    return True


def parsed(content: bytes):
    """The configuration the module must read from content, or None when it must refuse the file."""
    if not content.strip():
        return {}
    try:
        value = json.loads(
            content.decode("utf-8"), parse_constant=lambda token: (_ for _ in ()).throw(ValueError(token))
        )
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) and finite(value) else None


def model(before: dict, remove: list, settings: dict) -> dict:
    """What the file must hold after the run: removals, then settings merged (dicts recursively)."""
    after = copy.deepcopy(before)
    for item in remove:
        if item in after:
            del after[item]
            continue
        node, parts = after, item.split(".")
        for part in parts[:-1]:
            node = node.get(part)
            if not isinstance(node, dict):
                break
        else:
            node.pop(parts[-1], None)

    def merge(base, update):
        for key, value in update.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                merge(base[key], value)
            else:
                base[key] = copy.deepcopy(value)

    merge(after, settings)
    return after


def make_path(folder: Path, kind: str, content: bytes) -> tuple[Path, Path]:
    """Lay out daemon.json as `kind` in folder; (the path to give the module, the file that holds the content)."""
    path, target = folder / "daemon.json", folder / "target.json"
    if kind in ("file", "missing"):
        if kind == "file":
            path.write_bytes(content)
        return path, path
    if kind == "link":
        target.write_bytes(content)
        path.symlink_to(target.name)
    elif kind == "dangling":
        path.symlink_to(target.name)
    elif kind == "loop":
        path.symlink_to(path.name)
    elif kind == "dir":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        sock.close()
    return path, target


def make_pid_file(folder: Path, kind: str) -> Path:
    path = folder / "docker.pid"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dir":
        path.mkdir()
    elif kind != "missing":
        path.write_bytes((str(os.getpid()) if kind == "self" else kind).encode("utf-8", "surrogateescape"))
    return path


@given(
    kind=KINDS,
    content=FILE_CONTENT,
    file_mode=st.sampled_from([0o644, 0o600, 0o755]),
    settings=mostly(OBJECTS, BAD_SETTINGS),
    remove=st.lists(KEYS | st.sampled_from(["log-opts.max-size", "runtimes.nvidia", "a.b.c"]), max_size=3),
    mode=MODES,
    backup=st.booleans(),
    check_mode=st.booleans(),
    diff=st.booleans(),
    pid_kind=PID_FILES,
)
def test_the_file_holds_exactly_the_merge_or_nothing_changes(
    kind, content, file_mode, settings, remove, mode, backup, check_mode, diff, pid_kind
):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        etc = root / "etc"
        etc.mkdir()
        (root / "sibling.json").write_text('{"debug": true}')  # outside the folder: never touched
        path, holder = make_path(etc, kind, content)
        if holder.exists():
            holder.chmod(file_mode)
        pid_file = make_pid_file(root, pid_kind)
        args = dict(path=str(path), settings=settings, remove=remove, mode=mode, backup=backup, pid_file=str(pid_file))
        before = Snapshot.of(root)

        run = run_module(docker_daemon_config.main, args, check_mode=check_mode, diff=diff, timeout=5)

        event(f"{kind}: {run.msg.replace(str(root), '')[:60] if run.failed else 'ok'}")
        want_mode = expected_mode(mode)
        existing = {} if kind in ("missing", "dangling") else parsed(content) if kind in ("file", "link") else None
        must_succeed = want_mode is not None and finite(settings) and existing is not None
        assert run.failed != must_succeed, f"failed={run.failed} for {args!r} ({kind}): {run.msg}"
        if run.failed:
            assert Snapshot.of(root).diff(before) == [], f"a failed run changed files: {run.msg}"
            named = [name for name in ("mode", "settings", str(path), str(holder)) if name in run.msg]
            assert named, f"the failure names neither the option nor the file: {run.msg}"
            return

        want = model(existing, remove, settings)
        assert canonical(run.result["config"]) == canonical(want)
        assert run.result["engine_running"] is (pid_kind == "self")
        existed = kind in ("file", "link")
        content_changed = canonical(want) != canonical(existing) if existed else bool(want)
        mode_changed = not content_changed and existed and file_mode != want_mode
        assert run.result["changed"] == (content_changed or mode_changed), run.result
        if diff:
            shown = run.result["diff"]["after"]
            assert canonical(json.loads(shown)) == canonical(want) if shown else not (existed or want)
        if check_mode:
            assert Snapshot.of(root).diff(before) == [], "check mode changed files"
            return
        if want or existed:
            assert canonical(parsed(holder.read_bytes())) == canonical(want), "the file is not the merge"
            assert stat.S_IMODE(holder.stat().st_mode) == want_mode
        else:
            assert not holder.exists(), "a file was created with nothing to put in it"
        allowed = {str(holder.relative_to(root))}
        if backup and run.result.get("backup_file"):
            allowed.add(str(Path(run.result["backup_file"]).relative_to(root)))
        assert set(Snapshot.of(root).diff(before)) <= allowed, "something outside daemon.json changed"
        if kind == "link":
            assert path.is_symlink(), "the link was replaced"

        # The second run finds nothing to do.
        settled = Snapshot.of(root)
        again = run_module(docker_daemon_config.main, dict(args, backup=False), timeout=5)
        assert not again.failed and again.result["changed"] is False, again.result
        assert Snapshot.of(root).diff(settled) == []


@given(
    old=st.sampled_from([1, True, 0, False, 3, 3.0, 1.0, None, "1", [1], {"x": 1}]),
    new=st.sampled_from([1, True, 0, False, 3, 3.0, 1.0, None, "1", [True], {"x": True}]),
)
def test_a_value_of_another_type_is_a_change(old, new):
    """dockerd tells true from 1 (a bool option given 1 is an error): the module must too."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "daemon.json")
        path.write_text(json.dumps({"debug": old}))
        path.chmod(0o644)
        run = run_module(docker_daemon_config.main, dict(path=str(path), settings={"debug": new}))
        assert not run.failed, run.msg
        assert run.result["changed"] == (canonical(old) != canonical(new))
        assert canonical(json.loads(path.read_text())) == canonical({"debug": new})
