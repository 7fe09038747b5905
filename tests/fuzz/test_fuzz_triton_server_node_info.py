"""triton_server_node_info on generated repositories, records, lock files, image names and interpreters.

The digests must come back (or a failure that names the option or the folder) for any repository, FIFOs, sockets and
link loops in it included, and must not depend on those: they cover regular files only. A record or a lock file may
be anything; reading one must not wait forever (a FIFO) or raise. Nothing is written (a digest of a file of 1 MiB or
more is remembered in an extended attribute, which is not the file's content).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from _harness import Snapshot, run_module
from _model_repositories import JSON_VALUES, NAMES, ODD_KINDS, build, make, repositories
from ansible_collections.gpufleet.triton.plugins.modules import triton_server_node_info
from hypothesis import given
from hypothesis import strategies as st

TIMEOUT = 30.0  # s: a digest of a generated repository takes milliseconds; a FIFO read would wait forever
MAIN = triton_server_node_info.main
SHA256 = re.compile(r"^[0-9a-f]{64}$")
BAD_NAMES = ["/", "/etc", ".", "..", "../x", "a/b", "", "x/..", "a\0b"]


def _usable(name) -> bool:
    """A model name as the module takes it: a plain folder name, valid UTF-8."""
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\0" in name:
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _folders(repo: str) -> list:
    """What the module digests when no models are named: folders, neither hidden nor links (names as os.listdir)."""
    return [
        name
        for name in os.listdir(repo)
        if not name.startswith(".")
        and os.path.isdir(os.path.join(repo, name))
        and not os.path.islink(os.path.join(repo, name))
    ]


def _digest(args: dict):
    run = run_module(MAIN, args, timeout=TIMEOUT)
    again = run_module(MAIN, args, check_mode=True, timeout=TIMEOUT)
    assert {k: v for k, v in again.result.items() if k != "invocation"} == {
        k: v for k, v in run.result.items() if k != "invocation"
    }, "another answer on a second read (check mode)"
    json.dumps(run.result, ensure_ascii=False).encode("utf-8")  # ansible-core refuses a result that is not UTF-8
    return run


@given(
    repository=repositories(),
    named=st.one_of(st.none(), st.lists(st.one_of(st.integers(0, 5), st.sampled_from(BAD_NAMES)), max_size=4)),
    junk=st.lists(st.tuples(NAMES, st.sampled_from(ODD_KINDS)), min_size=1, max_size=3),
)
def test_digests_come_back_and_ignore_what_is_not_a_file(tmp_path, repository, named, junk):
    root = tempfile.mkdtemp(dir=tmp_path)
    try:
        repo = build(root, repository)
        present = sorted(n for n in os.listdir(repo) if n.isprintable())
        models = None
        if named is not None:  # indexes pick the repository's names (or one that is absent), strings are bad names
            models = [n if isinstance(n, str) else [*present, "absent"][n % (len(present) + 1)] for n in named]
        args = {"repository": repo} if models is None else {"repository": repo, "models": models}
        before = Snapshot.of(Path(root))
        run = _digest(args)
        assert Snapshot.of(Path(root)).diff(before) == [], "a digest changed the disk"
        if models is not None and not all(_usable(n) for n in models):
            # refused before a path outside the repository is walked ("/" read the whole file system)
            assert run.failed and run.msg.startswith("models: ") and "model_digests" not in run.result, run.result
            return
        if models is None and not all(_usable(n) for n in _folders(repo)):
            assert run.failed and repo in run.msg and "model_digests" not in run.result, run.result
            return
        assert not run.failed, run.msg
        digests = run.result["model_digests"]
        expected = _folders(repo) if models is None else models
        assert set(digests) == set(expected)
        for name, digest in digests.items():
            if os.path.isdir(os.path.join(repo, name)):
                assert SHA256.match(digest), (name, digest)
            else:
                assert digest is None, (name, digest)
        # FIFOs, sockets, dangling links and link loops added to every model folder leave every digest as it was
        for name in digests:
            folder = os.path.join(os.fsencode(repo), os.fsencode(name))
            if os.path.isdir(folder) and not os.path.islink(folder):
                for entry, kind in junk:
                    if not os.path.lexists(os.path.join(folder, entry)):
                        make(os.path.join(folder, entry), kind)
        assert _digest(args).result["model_digests"] == digests, "an entry that is not a file changed a digest"
    finally:
        shutil.rmtree(root)


def _names_json(names: list) -> bytes:
    return json.dumps(names).encode("utf-8")


RECORD_CONTENT = st.one_of(
    st.lists(NAMES.map(lambda n: n.decode("utf-8", "replace")), max_size=4).map(_names_json),
    st.lists(st.sampled_from([*BAD_NAMES, "ok"]), min_size=1, max_size=3).map(_names_json),
    JSON_VALUES.map(lambda value: json.dumps(value).encode("utf-8")),
    st.sampled_from(
        [b"[" * 100_000, b'["a", ' * 50_000, b'["\\ud800"]', b"\xef\xbb\xbf[]", b"[1" + b"0" * 5000 + b"]"]
    ),
    st.binary(max_size=64),
)
LOCK_CONTENT = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([b"ops@ctl, run started 2026-01-01T00:00:00Z #1\n", b"x" * 100_000, b"\n\n", b"\xff\xfe\n"]),
)
# (kind, content) of what stands at the record's or the lock's path; "missing": nothing does
PLACES = st.one_of(
    st.sampled_from([("missing", b""), ("dir", b"")] + [(kind, b"") for kind in ODD_KINDS]),
    st.tuples(st.just("file"), st.just(None)),
)


def _place(path: Path, kind: str, content: bytes) -> None:
    if kind != "missing":
        make(os.fsencode(path), kind, content)


def _record_names(content: bytes):
    """The names a record holds, or None when it is not a JSON list of usable model names."""
    try:
        value = json.loads(content.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, list) or not all(_usable(n) for n in value):
        return None
    return value


@given(place=PLACES, record=RECORD_CONTENT, lock=LOCK_CONTENT)
def test_a_record_or_a_lock_of_any_kind_is_read_or_named(tmp_path, place, record, lock):
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    try:
        kind = place[0]
        _place(root / "record.json", kind, record)
        _place(root / "lock", kind, lock)
        before = Snapshot.of(root)

        run = _digest({"managed_models_record": str(root / "record.json")})
        if kind in ("missing", "dangling"):
            assert run.result["managed_models"] == []
        elif kind == "file" and _record_names(record) is not None:
            assert run.result["managed_models"] == _record_names(record)
        else:
            assert run.failed and run.msg.startswith("managed_models_record %s: " % (root / "record.json")), run.result

        run = _digest({"lock_path": str(root / "lock")})
        if kind in ("missing", "dangling"):
            assert run.result["lock_holder"] == ""
        elif kind == "file":
            assert run.result["lock_holder"] == lock[:4096].split(b"\n")[0].decode("utf-8", "replace")
        else:
            assert run.failed and run.msg.startswith("lock_path %s: " % (root / "lock")), run.result
        assert Snapshot.of(root).diff(before) == []
    finally:
        shutil.rmtree(root)


IMAGES = st.one_of(
    st.sampled_from(
        ["nvcr.io/nvidia/tritonserver:24.10-py3", "-h", "--help", "--format={{.Os}}", "a b", "x\n", "x\0y", "\u00e9"]
    ),
    st.text(max_size=20),
)
INTERPRETERS = st.sampled_from(
    ["python", "missing", "folder", "fifo", "not-executable", "fails", "name-on-path", "nul", "dash"]
)


@given(image=IMAGES, interpreter=INTERPRETERS)
def test_image_and_interpreter_are_checked_then_run_as_arguments(tmp_path, monkeypatch, image, interpreter):
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    try:
        bin_dir = root / "bin"
        bin_dir.mkdir()
        calls = root / "docker-args"
        # the node's docker, standing in: it records its arguments one per line (NUL-separated) and answers an ID
        (bin_dir / "docker").write_text(f'#!/bin/sh\nprintf "%s\\0" "$@" > {calls}\necho sha256:0123\n')
        (bin_dir / "docker").chmod(0o755)
        (bin_dir / "fails").write_text("#!/bin/sh\necho 'ModuleNotFoundError: no tritonclient' >&2\nexit 1\n")
        (bin_dir / "fails").chmod(0o755)
        (root / "folder").mkdir()
        os.mkfifo(root / "fifo")
        (root / "not-executable").write_text("print(1)\n")
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        python = {
            "python": sys.executable,
            "missing": str(root / "no-such-python"),
            "fails": str(bin_dir / "fails"),
            "name-on-path": "fails",
            "nul": "py\0thon",
            "dash": "-c",
        }.get(interpreter, str(root / interpreter))

        run = run_module(MAIN, {"image": image}, timeout=TIMEOUT)
        if image and (image.startswith("-") or re.search(r"[\s\x00-\x1f\x7f]", image)):
            assert run.failed and "image" in run.msg and not calls.exists(), run.result
        elif image:
            assert (run.result["image_id"], run.result["image_error"]) == ("sha256:0123", "")
            # the image is one argument, the last, never read as an option of docker's
            assert calls.read_bytes().split(b"\0")[-2] == image.encode("utf-8")
        else:
            assert "image_id" not in run.result

        run = run_module(MAIN, {"validator_python": python}, timeout=TIMEOUT)
        if interpreter == "nul":
            assert run.failed and "validator_python" in run.msg, run.result
            return
        assert not run.failed, run.msg
        ready, error = run.result["validator_ready"], run.result["validator_error"]
        assert isinstance(ready, bool) and (error == "") == ready, run.result
        if interpreter in ("missing", "folder", "fifo", "not-executable", "dash"):
            assert not ready and python in error, run.result
        if interpreter in ("fails", "name-on-path"):
            assert not ready and error == "ModuleNotFoundError: no tritonclient", run.result
    finally:
        shutil.rmtree(root)
