"""The converge_digest lookup on generated trees and variables.

Its helper (`_tree_digest.tree_digest`, which digests the controller's model repository) runs in process on generated
trees: FIFOs, sockets, link loops, dangling links, non-UTF-8 and very long names, files of 1 MiB and more. It must end
(a FIFO read would block forever), read no file outside the tree but through a link made to point there, and give the
same digest for the same files whatever else the folder holds. The lookup itself runs in process on generated paths
and variables, and through one `ansible-playbook -vvv` on a fixed set of cases.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import lookup_loader
from ansible.template import Templar
from ansible_collections.gpufleet.triton.plugins.module_utils import _tree_digest
from hypothesis import given
from hypothesis import strategies as st

HEX64 = re.compile(r"[0-9a-f]{64}\Z")
MIB = 1024 * 1024
NAMES = st.one_of(
    st.sampled_from([b"model.py", b"config.pbtxt", b"1", b"__pycache__", b".hidden", b"a b\nc", b"x" * 255]),
    st.binary(min_size=1, max_size=40)
    .filter(lambda name: b"/" not in name and b"\0" not in name)
    # "." and ".." are not names a folder can hold
    .filter(lambda name: name not in (b".", b"..")),
)
# What a tree entry can be. "outside_*" point at a folder beside the tree, which only they may lead to.
KINDS = st.sampled_from(
    [
        *("file", "file", "big", "folder", "fifo", "socket", "self_loop", "dangling", "link_in", "up_loop"),
        *("link_fifo", "outside_file", "outside_folder"),
    ]
)


class Timeout(Exception):
    pass


def _bounded(seconds, call, *args, **kwargs):
    """call(*args, **kwargs), or Timeout after `seconds` (a read of a FIFO blocks forever)."""

    def alarm(signum, frame):
        raise Timeout(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return call(*args, **kwargs)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@st.composite
def trees(draw):
    """[(relative path as bytes, kind, content)], folders before what they hold."""
    entries, folders = [], [b""]
    for _ in range(draw(st.integers(1, 12))):
        parent = draw(st.sampled_from(folders))
        rel = os.path.join(parent, draw(NAMES)) if parent else draw(NAMES)
        if any(rel == known for known, _kind, _content in entries):
            continue
        kind = draw(KINDS)
        content = draw(st.binary(max_size=64)) if kind == "file" else b""
        entries.append((rel, kind, content))
        if kind == "folder":
            folders.append(rel)
    return entries


def _build(root: bytes, outside: bytes, entries) -> set:
    """Create the tree; the real paths of what its outward links point at (which may be read)."""
    targets = set()
    for rel, kind, content in entries:
        path = os.path.join(root, rel)
        if kind == "file":
            Path(os.fsdecode(path)).write_bytes(content)
        elif kind == "big":  # above the size whose sha256 is recorded on the file
            with open(path, "wb") as handle:
                handle.truncate(MIB + 7)
        elif kind == "folder":
            os.mkdir(path)
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "socket":
            os.mknod(path, 0o600 | stat.S_IFSOCK)
        elif kind == "self_loop":
            os.symlink(os.path.basename(path), path)
        elif kind == "dangling":
            os.symlink(b"nothing-here", path)
        elif kind == "link_in":
            os.symlink(root, path)  # the tree's top: a loop
        elif kind == "up_loop":
            os.symlink(b".", path)
        elif kind == "link_fifo":
            os.symlink(os.path.join(outside, b"fifo"), path)
        elif kind in ("outside_file", "outside_folder"):
            target = os.path.join(outside, b"file" if kind == "outside_file" else b"folder")
            os.symlink(target, path)
            targets.add(os.path.realpath(target))
    return targets


def _outside(base: bytes) -> bytes:
    outside = os.path.join(base, b"outside")
    os.mkdir(outside)
    Path(os.fsdecode(outside), "file").write_bytes(b"beside the tree\n")
    os.mkdir(os.path.join(outside, b"folder"))
    Path(os.fsdecode(outside), "folder", "weights.bin").write_bytes(b"weights\n")
    os.mkfifo(os.path.join(outside, b"fifo"))
    Path(os.fsdecode(outside), "secret.txt").write_bytes(b"not for the digest\n")
    return outside


@given(entries=trees())
def test_tree_digest_ends_and_reads_only_the_tree(entries):
    with tempfile.TemporaryDirectory(prefix="fz-cd-") as tmpdir:
        base = os.fsencode(tmpdir)
        outside, root = _outside(base), os.path.join(base, b"tree")
        os.mkdir(root)
        targets = _build(root, outside, entries)
        read = []
        real_sha = _tree_digest.file_sha256

        def recording(path, **kwargs):
            read.append(os.path.realpath(path))
            return real_sha(path, **kwargs)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_tree_digest, "file_sha256", recording)
            digest = _bounded(20, _tree_digest.tree_digest, root)
        assert HEX64.match(digest), digest
        real_root = os.path.realpath(root) + b"/"
        for path in read:
            inside = path.startswith(real_root)
            assert inside or any(path == t or path.startswith(t + b"/") for t in targets), f"read {path!r}"
            assert stat.S_ISREG(os.stat(path).st_mode), f"read {path!r}, not a regular file"
        # the same files give the same digest, what else the folder holds (FIFOs, sockets, dangling links) aside
        assert _bounded(20, _tree_digest.tree_digest, root) == digest
        os.mkfifo(os.path.join(root, b"another fifo"))
        os.symlink(b"gone", os.path.join(root, b"another dangling link"))
        assert _bounded(20, _tree_digest.tree_digest, root) == digest


@given(entries=trees(), extra=st.binary(min_size=1, max_size=16))
def test_tree_digest_sees_a_changed_file(entries, extra):
    with tempfile.TemporaryDirectory(prefix="fz-cd-") as tmpdir:
        base = os.fsencode(tmpdir)
        outside, root = _outside(base), os.path.join(base, b"tree")
        os.mkdir(root)
        _build(root, outside, entries)
        before = _bounded(20, _tree_digest.tree_digest, root)
        with open(os.path.join(root, b"added.bin"), "wb") as handle:
            handle.write(extra)
        assert _bounded(20, _tree_digest.tree_digest, root) != before


def test_a_link_to_a_folder_above_the_tree_reads_nothing_beside_the_tree(tmp_path, monkeypatch):
    root = tmp_path / "tree"
    root.mkdir()
    (root / "model.py").write_text("x = 1\n")
    (tmp_path / "beside.txt").write_text("not in the tree\n")
    (root / "up").symlink_to("..")
    read = []
    real_sha = _tree_digest.file_sha256
    monkeypatch.setattr(_tree_digest, "file_sha256", lambda path, **kw: read.append(path) or real_sha(path, **kw))
    _bounded(20, _tree_digest.tree_digest, str(root))
    assert not [path for path in read if "beside" in str(path)], read


def _lookup():
    # Loaded from its folder, as ANSIBLE_LOOKUP_PLUGINS would: by its collection name it needs ansible-core's
    # collection loader, which would change how every later test imports the collection.
    lookup_loader.add_directory(str(Path(__file__).resolve().parents[2] / "plugins" / "lookup"))
    loader = DataLoader()
    return lookup_loader.get("converge_digest", loader=loader, templar=Templar(loader=loader))


# Variables of every type a play can give (what YAML, JSON and Jinja produce), mixed key types included.
KEYS = st.one_of(st.text(max_size=6), st.integers(-3, 3), st.booleans(), st.none(), st.floats(allow_nan=False))
VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20), st.binary(max_size=8)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=12,
)
PATH_KINDS = st.lists(
    st.sampled_from(["tree", "file", "missing", "fifo", "socket", "dangling", "empty", "nul", "loop"]), max_size=3
)


@given(variables=st.dictionaries(st.sampled_from(["site_a", "triton_server_b", "ngc_login_c", "other"]), VALUES))
def test_the_lookup_digests_any_variables(variables):
    digest = _lookup().run([], variables=variables)
    assert len(digest) == 1 and HEX64.match(digest[0]), digest
    assert _lookup().run([], variables=variables) == digest


@given(kinds=PATH_KINDS)
def test_the_lookup_digests_files_and_folders_and_names_any_other_path(kinds):
    with tempfile.TemporaryDirectory(prefix="fz-cd-") as tmpdir:
        base = Path(tmpdir)
        (base / "tree" / "m").mkdir(parents=True)
        (base / "tree" / "m" / "config.pbtxt").write_text('name: "m"\n')
        (base / "file").write_text("a file\n")
        os.mkfifo(base / "fifo")
        os.mknod(base / "socket", 0o600 | stat.S_IFSOCK)
        (base / "dangling").symlink_to(base / "gone")
        (base / "loop").symlink_to(base / "loop")
        named = {"empty": "", "nul": str(base / "n\0l")}
        paths = [named.get(kind, str(base / kind)) for kind in kinds]
        bad = [path for path, kind in zip(paths, kinds) if kind not in ("tree", "file", "empty")]
        try:
            digest = _bounded(20, _lookup().run, [], {}, paths=paths)
        except AnsibleLookupError as exc:
            assert bad and any(path in str(exc) or repr(path) in str(exc) for path in bad), f"{exc} for {paths}"
            assert "expected" in str(exc), exc
            return
        assert not bad and HEX64.match(digest[0]), (digest, paths)
        if "file" in kinds:  # a file given counts by its content
            (base / "file").write_text("another content\n")
            assert _bounded(20, _lookup().run, [], {}, paths=paths) != digest


def test_a_file_that_cannot_be_read_fails_naming_it(tmp_path, monkeypatch):
    """Root reads every file, so an unreadable one is made by the read itself failing."""
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.py").write_text("x = 1\n")

    real_sha = _tree_digest.file_sha256

    def denied(path, **kwargs):
        if os.fsdecode(path).startswith(str(tmp_path)):
            raise PermissionError(13, "Permission denied", path)
        return real_sha(path, **kwargs)

    monkeypatch.setattr(_tree_digest, "file_sha256", denied)
    with pytest.raises(AnsibleLookupError, match=r"cannot read .*model\.py.*Permission denied"):
        _lookup().run([], {}, paths=[str(tmp_path)])


def test_through_ansible_playbook(tmp_path, ansible_bin):
    """A fixed set through `ansible-playbook -vvv`: a FIFO, a socket or a missing path fails naming it (in time, no
    traceback), a file counts by its content, a variable with keys of two types is digested, paths given as one
    string is that one path, and no secret variable's value is printed."""
    (tmp_path / "repo" / "m").mkdir(parents=True)
    (tmp_path / "repo" / "m" / "config.pbtxt").write_text('name: "m"\n')
    (tmp_path / "models.txt").write_text("m\n")
    os.mkfifo(tmp_path / "fifo")
    os.mknod(tmp_path / "socket", 0o600 | stat.S_IFSOCK)
    secret = "ngc-s3cret-api-key-0123"  # noqa: S105 (a test value)
    (tmp_path / "vars.yml").write_text(
        f"ngc_login_api_key: {secret}\nsite_map: {{1: one, two: 2, null: 3}}\nsite_list: [.nan, .inf, -.inf]\n"
    )
    cases = [
        ("fifo", f"paths=['{tmp_path / 'fifo'}']", str(tmp_path / "fifo")),
        ("socket", f"paths=['{tmp_path / 'socket'}']", str(tmp_path / "socket")),
        ("missing", f"paths=['{tmp_path / 'missing'}']", str(tmp_path / "missing")),
        ("file", f"paths=['{tmp_path / 'models.txt'}']", None),
        ("folder as a string", f"paths='{tmp_path / 'repo'}'", None),
        ("folder", f"paths=['{tmp_path / 'repo'}']", None),
    ]
    lookup = "{{ lookup('gpufleet.triton.converge_digest', ARG) }}"
    tasks = [
        {"name": name, "ansible.builtin.debug": {"msg": lookup.replace("ARG", arg)}, "ignore_errors": True}
        for name, arg, _needle in cases
    ]
    play = tmp_path / "play.yml"
    play.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="true")
    cmd = [ansible_bin + "-playbook", "-vvv", "-c", "local", "-i", "localhost,", str(play)]
    cmd += ["-e", f"@{tmp_path / 'vars.yml'}", "-e", f"ansible_python_interpreter={sys.executable}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, check=False)
    output = proc.stdout + proc.stderr
    assert "Traceback (most recent call last)" not in output and secret not in output, output[-3000:]
    results = json.loads(proc.stdout[re.search(r"^\{$", proc.stdout, re.M).start() :])["plays"][0]["tasks"]
    answers = {task["task"]["name"]: task["hosts"]["localhost"] for task in results}
    for name, _arg, needle in cases:
        result = answers[name]
        if needle:
            assert result.get("failed") and needle in result["msg"], (name, result)
        else:
            assert not result.get("failed") and HEX64.match(result["msg"]), (name, result)
    assert answers["folder as a string"]["msg"] == answers["folder"]["msg"]
    assert answers["file"]["msg"] != answers["folder"]["msg"]
