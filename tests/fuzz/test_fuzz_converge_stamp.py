"""converge_stamp and converge_stamp_info on generated trees (FIFOs, sockets, links out of the tree, loops, non-UTF-8
and long names, junk digest caches), generated options and stamps corrupted in every way.

What must hold: a stamp followed by converge_stamp_info on the unchanged node says converged; a stamp that is not
exactly what converge_stamp wrote never does; neither module describes a path outside those it was given (a spy on
the snapshot's one function that looks at a path), tags a file it did not reach by walking them, or changes anything
on a failure or in check mode; every run ends within its time.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

import pytest
from _harness import Snapshot, run_module
from ansible_collections.gpufleet.triton.plugins.module_utils import _converge_stamp
from ansible_collections.gpufleet.triton.plugins.module_utils._file_digest import XATTR
from ansible_collections.gpufleet.triton.plugins.modules import converge_stamp, converge_stamp_info
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

DIGEST = "0123456789abcdef" * 4
SLEEP = shutil.which("sleep")  # found before the tests put their own commands first in PATH
OPTIONS = ("path", "digest", "timeout", "paths", "services", "packages", "images", "endpoints", "models", "max_age")

# The commands the snapshot runs, as small shell scripts with fixed odd answers: the tests never ask the host's
# systemd, dpkg or Docker engine, and the answers are the same for the stamp and for the check that follows it.
FAKES = {
    "systemctl": 'printf "Names=docker.service d.service\\nActiveState=active\\nUnitFileState=\\n\\nNames\\n=x\\n\\n"',
    "dpkg-query": 'printf "docker-ce\\t5:1\\tii\\nshort\\t\\t\\nodd\\tline\\n"; exit 1',
    "rpm": "exit 127",
    "docker": 'for last; do :; done; printf "%s\\n" "$last"',  # every image is present
}


@pytest.fixture(autouse=True, scope="module")
def fake_commands():
    with tempfile.TemporaryDirectory() as folder:
        for name, body in FAKES.items():
            script = Path(folder, name)
            script.write_text("#!/bin/sh\n" + body + "\n")
            script.chmod(0o755)
        saved = os.environ["PATH"]
        os.environ["PATH"] = folder
        try:
            yield
        finally:
            os.environ["PATH"] = saved


def closed_port() -> int:
    """A local TCP port nothing listens on (bound then closed): a connection to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the node: a tree the roles own, a sibling tree nobody asked about, the stamp's folder -------------------------

NAMES = st.one_of(
    st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="/\0"), min_size=1, max_size=12).filter(
        lambda name: name not in (".", "..")
    ),
    st.sampled_from(["-rf", "a b", "new\nline", "x" * 255, "é", "*", "$(id)"]),
    st.sampled_from([b"\xff\xfe", b"caf\xe9", b"\x80"]).map(os.fsdecode),  # not UTF-8
)
KINDS = st.sampled_from(
    ["file", "file", "dir", "fifo", "socket", "link_in", "link_out", "link_dir_out", "dangling", "loop"]
)
JUNK_XATTRS = st.sampled_from([None, None, b"", b"zz", b"\xff\xfe", b"a" * 300, b"0" * 64 + b" 1 2 3", b"x y"])
TREES = st.lists(st.tuples(NAMES, KINDS, st.binary(max_size=64), JUNK_XATTRS), max_size=6, unique_by=lambda e: e[0])


def build(root: Path, tree) -> tuple[Path, list[Path]]:
    """root/owned from tree, root/sibling beside it; (owned, the top-level entries made)."""
    owned, sibling = root / "owned", root / "sibling"
    (sibling / "dir").mkdir(parents=True)
    (sibling / "host.conf").write_text("host\n")
    (sibling / "dir" / "inner").write_text("inner\n")
    owned.mkdir()
    made = []
    for index, (name, kind, content, junk) in enumerate(tree):
        path = owned / (f"s{index}" if kind == "socket" else name)  # a socket's path must fit in 108 bytes
        if kind == "file":
            path.write_bytes(content)
        elif kind == "dir":
            path.mkdir()
            (path / "inner").write_bytes(content)
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "socket":
            with socket.socket(socket.AF_UNIX) as sock:
                sock.bind(str(path))
        elif kind == "link_in":
            path.symlink_to(made[0] if made else owned)
        elif kind == "link_out":
            path.symlink_to(sibling / "host.conf")
        elif kind == "link_dir_out":
            path.symlink_to(sibling / "dir")
        elif kind == "dangling":
            path.symlink_to(root / "nowhere")
        elif kind == "loop":
            path.symlink_to(path.name)
        if junk is not None and kind in ("file", "dir"):
            os.setxattr(path if kind == "file" else path / "inner", XATTR, junk)
        made.append(path)
    return owned, made


def xattrs(root: Path) -> dict:
    """{path: the digest cache attribute} of every file below root (links not followed)."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            try:
                found[path] = os.getxattr(path, XATTR, follow_symlinks=False)
            except OSError:
                pass
    return found


def reached(path: str, given: list[str]) -> bool:
    """Whether walking `given` (never following a link below them) gets to path, as the module names it or as it is
    found on disk: a link in the middle of a path the user wrote is the user's, and is followed."""
    resolved = [os.path.join(os.path.realpath(os.path.dirname(top)), os.path.basename(top)) for top in given]
    for top in {*given, *resolved}:
        if path == top:
            return True
        if path.startswith(top.rstrip("/") + "/"):
            parts = Path(path).relative_to(top).parts[:-1]
            folder = Path(top)
            for part in ("", *parts):
                folder = folder / part if part else folder
                if folder.is_symlink() or not folder.is_dir():
                    break
            else:
                return True
    return False


@contextlib.contextmanager
def spy(allowed):
    """Wraps the snapshot's _describe (the one function that looks at a path) for one example: yields the list of
    paths it looked at, and stops the run (a traceback, which fails the test) at the first one outside the allowed
    trees, before it walks on."""
    allowed = [str(a).rstrip("/") for a in allowed]
    seen = []
    real = _converge_stamp._describe

    def describe(path, remember):
        if not any(path == a or path.startswith(a + "/") for a in allowed):
            raise AssertionError(f"the snapshot looked at {path!r}, outside {allowed}")
        seen.append(path)
        return real(path, remember)

    _converge_stamp._describe = describe
    try:
        yield seen
    finally:
        _converge_stamp._describe = real


# --- options -------------------------------------------------------------------------------------------------------


def mostly(good, bad):
    """(value, is_good): good three times in four, so that most runs get past the option checks."""
    return st.integers(0, 3).flatmap(
        lambda pick: bad.map(lambda v: (v, False)) if pick == 0 else good.map(lambda v: (v, True))
    )


# Each option: (what a user may well give, what the module must refuse naming the option).
TIMEOUTS = (
    st.sampled_from([0.5, 1, "0.5", 2.0]),
    st.sampled_from([math.nan, math.inf, -math.inf, -1, 0, 0.0, 1e300, 3601, "abc", "nan", "-inf", [1], {}]),
)
DIGESTS = (
    st.just(DIGEST),
    st.sampled_from(["", "XYZ", DIGEST.upper(), DIGEST + "0", DIGEST[:-1] + "g", DIGEST[:-1] + "\n", 12]),
)
WORDS = st.sampled_from(["docker", "docker.service", "-h", "--version", "a b", "", "é", "x" * 300, "d.service"])
NAME_LISTS = (
    st.lists(WORDS, max_size=3) | WORDS.filter(lambda w: w and "," not in w),  # one string is a list of it
    st.lists(WORDS, max_size=2).flatmap(lambda ws: st.sampled_from(["nul\0byte", "\0"]).map(lambda b: [*ws, b])),
)


def endpoint_lists(port):
    good = st.sampled_from([f"http://127.0.0.1:{port}", f"https://127.0.0.1:{port}/", f"http://[::1]:{port}"])
    bad = st.sampled_from(
        [
            "",
            "127.0.0.1:8000",
            "file:///etc/passwd",
            "ftp://127.0.0.1/",
            "http://[::1",
            "http://127.0.0.1:99999",
            "http://",
            "http:///v2",
            "http://127.0.0.1:8000/\nX",
            "javascript:alert(1)",
        ]
    )
    return st.lists(good, max_size=2, unique=True), st.lists(good, max_size=1).flatmap(
        lambda g: bad.map(lambda b: [*g, b])
    )


@st.composite
def path_lists(draw, owned: Path, made: list[Path], state: Path, bad: bool):
    """Absolute paths among the tree, the stamp's folder and missing ones; bad: one relative, with a NUL byte, or a
    string with a comma (split into a relative path)."""
    candidates = [owned, state, owned / "missing", *made, *(m / "inner" for m in made)]
    good = [str(p) for p in draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=4))]
    if not bad:
        if len(good) == 1 and "," not in good[0] and draw(st.booleans()):
            return good[0]  # one path as a string is a list of it
        return good
    junk = draw(st.sampled_from(["owned", "", "./x", "a\0b", f"{good[0]}\0", 7, None]))
    return ",".join([*good, "relative"]) if junk is None else [*good, junk]


# What is at the stamp's path before converge_stamp runs; the last three make its path option wrong.
STAMP_KINDS = ["missing", "missing_folder", "fifo", "dangling", "junk", "folder", "under_file", "relative"]
WRONG_STAMP_KINDS = ("folder", "under_file", "relative")


def stamp_path(root: Path, kind: str) -> str:
    """Where the stamp goes: `kind` says what is there before the run."""
    state = root / "state"
    path = state / "converged.json"
    if kind == "relative":
        return "state/converged.json"
    if kind == "missing_folder":
        return str(path)
    state.mkdir()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "under_file":
        (state / "file").write_text("x")
        return str(state / "file" / "converged.json")
    elif kind == "dangling":
        path.symlink_to(root / "elsewhere.json")
    elif kind == "junk":
        path.write_bytes(b"\xff{not json")
    return str(path)


# --- the properties ------------------------------------------------------------------------------------------------


# Each kind of stamp path in every run of the tests (drawn, it would often be left out of the fixed CI examples); a
# third of the profile's examples for each of the 8 keeps the test's time about that of the others.
@pytest.mark.parametrize("stamp_kind", STAMP_KINDS)
@settings(max_examples=max(10, settings.default.max_examples // 3))
@given(data=st.data())
def test_a_stamp_then_its_check_say_converged_and_touch_only_what_was_given(stamp_kind, data):
    # At most one option is wrong, so that the failure can be asked to name it.
    if stamp_kind in WRONG_STAMP_KINDS:
        bad = "path"
    else:
        bad = data.draw(st.sampled_from([None] * 6 + ["digest", "timeout", "paths", "services", "images", "endpoints"]))

    def option(name, strategies):
        return data.draw(strategies[name == bad], label=name)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        owned, made = build(root, data.draw(TREES, label="tree"))
        path = stamp_path(root, stamp_kind)
        args = dict(
            path=path,
            digest=option("digest", DIGESTS),
            timeout=option("timeout", TIMEOUTS),
            paths=data.draw(path_lists(owned, made, root / "state", bad == "paths"), label="paths"),
            services=option("services", NAME_LISTS),
            packages=data.draw(NAME_LISTS[0], label="packages"),
            images=option("images", NAME_LISTS),
            endpoints=option("endpoints", endpoint_lists(closed_port())),
            models=data.draw(st.lists(WORDS, max_size=2), label="models"),
        )
        check_mode = data.draw(st.booleans(), label="check_mode")
        given_paths = [args["paths"]] if isinstance(args["paths"], str) else [str(p) for p in args["paths"]]
        before, tags = Snapshot.of(root), xattrs(root)

        with spy([p for p in given_paths if os.path.isabs(p)]) as seen, contextlib.chdir(root):
            # In root, so that what a relative path would reach is in the snapshot of the tree.
            run = run_module(converge_stamp.main, args, check_mode=check_mode, timeout=5)

        event(f"stamp {stamp_kind}: {run.msg.replace(tmp, '')[:50] if run.failed else 'ok'}")
        assert run.failed == (bad is not None), f"failed={run.failed}: {run.msg} for {args!r}"
        if run.failed:
            assert re.search(rf"\b{bad}\b", run.msg), f"the failure does not name {bad}: {run.msg}"
        if run.failed or check_mode:
            assert Snapshot.of(root).diff(before) == [] and xattrs(root) == tags, "changed on a failure or check"
            assert all(reached(p, given_paths) for p in seen)
            return

        changed = Snapshot.of(root).diff(before)
        assert set(changed) <= {"state", "state/converged.json"}, f"written outside the stamp: {changed}"
        assert os.stat(path).st_mode & 0o777 == 0o600
        for tagged in {p for p, v in xattrs(root).items() if tags.get(p) != v}:
            assert reached(tagged, given_paths), f"tagged {tagged}, which it was not asked about"
        recorded = set(run.result["snapshot"]["paths"])
        assert all(reached(p, given_paths) for p in recorded), recorded

        # The check on the node as the stamp left it: converged, and nothing changes (the digests are remembered).
        settled, tags = Snapshot.of(root), xattrs(root)
        max_age = data.draw(st.sampled_from(["1d", "12h", 86400, "1w", "1d12h", "99999999999999999999999w"]))
        check = dict(path=path, digest=DIGEST, timeout=args["timeout"], max_age=max_age)
        info = run_module(converge_stamp_info.main, check, check_mode=data.draw(st.booleans()), timeout=5)
        assert not info.failed and info.result["converged"], info.result
        assert Snapshot.of(root).diff(settled) == [] and xattrs(root) == tags


# A stamp as converge_stamp writes it, then changed: each way a file can be cut, mis-typed or replaced.
JUNK = st.sampled_from(
    [None, True, False, 0, -1, 2**64, 1e300, -1e300, math.nan, math.inf, -math.inf, 1.5, "", "/", "owned", "x"]
) | st.sampled_from([[], [None], [1], ["/"], ["relative"], [["nested"]], {}, {"a": 1}, {"paths": "/"}, [{"a": []}]])
WHERE = st.sampled_from(
    [
        ("version",),
        ("digest",),
        ("converged_at",),
        ("spec",),
        ("spec", "paths"),
        ("spec", "services"),
        ("spec", "endpoints"),
        ("spec", "models"),
        ("snapshot",),
        ("snapshot", "paths"),
        ("snapshot", "services"),
        ("snapshot", "nvidia_module"),
    ]
)
# One option of converge_stamp_info wrong one time in four: (option, value).
WRONG_INFO_OPTIONS = st.integers(0, 3).flatmap(
    lambda pick: (
        st.none()
        if pick
        else st.sampled_from(
            [("max_age", v) for v in ["-1", "1.5h", "", "1x", "1 d", 1.5, True, [], {}, math.nan, math.inf]]
            + [("digest", v) for v in ["", "x", DIGEST.upper(), DIGEST + "\n"]]
            + [("timeout", v) for v in [math.nan, -math.inf, 0, -1, 1e9, "nan"]]
            + [("path", v) for v in ["state/converged.json", "", "/x\0y"]]
        )
    )
)
BROKEN_FILES = st.sampled_from(["fifo", "folder", "dangling", "loop", "empty", "not_utf8", "deep", "nan", "list"])


def corrupt(stamp: dict, where: tuple, value, delete: bool) -> dict:
    stamp = json.loads(json.dumps(stamp))
    node = stamp
    for key in where[:-1]:
        node = node[key]
    if delete:
        node.pop(where[-1], None)
    elif where == ("spec", "paths") and value == "owned":
        node[where[-1]] = node[where[-1]][0]  # the list as one string: each character would be a path
    else:
        node[where[-1]] = value
    return stamp


# The example: a stamp whose path list is one string walked each of its characters, "/" among them.
@example(
    tree=[],
    how="value",
    where=("spec", "paths"),
    value="owned",
    cut=0,
    broken="fifo",
    wrong=None,
    check_mode=False,
)
# A stamp that lists "/" without having recorded it (found by the long profile) would walk and tag the whole host.
@example(tree=[], how="value", where=("spec", "paths"), value=["/"], cut=0, broken="fifo", wrong=None, check_mode=False)
# A stamp dated NaN was never too old; one dated 2**64 crashed formatting its date.
@example(tree=[], how="file", where=("spec",), value=None, cut=0, broken="nan", wrong=None, check_mode=False)
@example(
    tree=[],
    how="value",
    where=("converged_at",),
    value=2**64,
    cut=0,
    broken="fifo",
    wrong=None,
    check_mode=False,
)
@given(
    tree=TREES,
    how=st.sampled_from(["value", "value", "value", "delete", "truncate", "file"]),
    where=WHERE,
    value=JUNK,
    cut=st.floats(0, 1),
    broken=BROKEN_FILES,
    wrong=WRONG_INFO_OPTIONS,
    check_mode=st.booleans(),
)
def test_a_changed_stamp_never_says_converged_nor_leads_outside(
    tree, how, where, value, cut, broken, wrong, check_mode
):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        owned, _ = build(root, tree)
        (root / "state").mkdir()
        path = root / "state" / "converged.json"
        base = dict(path=str(path), digest=DIGEST, timeout=0.5)
        first = run_module(converge_stamp.main, dict(base, paths=[str(owned)], services=["docker"]), timeout=5)
        assert not first.failed, first.msg
        original = path.read_bytes()
        stamp = json.loads(original)

        if how == "value":
            path.write_text(json.dumps(corrupt(stamp, where, value, False)))
        elif how == "delete":
            path.write_text(json.dumps(corrupt(stamp, where, None, True)))
        elif how == "truncate":
            path.write_bytes(original[: int(len(original) * cut)])
        else:
            path.unlink()
            if broken == "fifo":
                os.mkfifo(path)
            elif broken == "folder":
                path.mkdir()
            elif broken == "dangling":
                path.symlink_to(root / "nowhere")
            elif broken == "loop":
                path.symlink_to(path.name)
            else:
                content = {"empty": b"", "not_utf8": b"{\xff}", "deep": b"[" * 100_000, "list": b"[]"}
                path.write_bytes(
                    content.get(broken, original.replace(b'"converged_at": ', b'"converged_at": NaN, "x": '))
                )
        unchanged = path.is_file() and not path.is_symlink() and path.read_bytes().strip() == original.strip()
        if path.is_file() and not unchanged:
            try:  # a change that leaves the same JSON (say, a list replaced by an equal list) is no change
                unchanged = json.dumps(json.loads(path.read_bytes()), sort_keys=True) == json.dumps(
                    stamp, sort_keys=True
                )
            except (ValueError, RecursionError):
                pass
        before, tags = Snapshot.of(root), xattrs(root)

        args = {**base, "max_age": "1d", **dict([wrong] if wrong else [])}
        with spy([owned]) as seen, contextlib.chdir(root):
            run = run_module(converge_stamp_info.main, args, check_mode=check_mode, timeout=5)

        event(f"{how}: {'failed' if run.failed else run.result['converged']}")
        assert run.failed == (wrong is not None), run.result
        assert Snapshot.of(root).diff(before) == [] and xattrs(root) == tags
        if run.failed:
            assert re.search(rf"\b{wrong[0]}\b", run.msg), f"the failure does not name {wrong[0]}: {run.msg}"
            return
        assert run.result["converged"] == unchanged, (how, where, value, run.result)
        assert run.result["converged"] or run.result["reasons"], run.result
        assert all(reached(p, [str(owned)]) for p in seen)


def test_a_hung_command_does_not_hang_the_snapshot(monkeypatch, tmp_path):
    """A docker or systemctl that never answers (a hung engine) ends the run at the commands' limit, not never."""
    hung = tmp_path / "bin"
    hung.mkdir()
    for name in ("docker", "systemctl"):
        (hung / name).write_text(f"#!/bin/sh\nexec {SLEEP} 60\n")
        (hung / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(hung))
    monkeypatch.setattr(_converge_stamp, "COMMAND_TIMEOUT", 0.5)
    args = dict(path=str(tmp_path / "stamp.json"), digest=DIGEST, images=["sha256:" + "a" * 64], services=["docker"])
    run = run_module(converge_stamp.main, args, check_mode=True, timeout=5)
    assert run.result["snapshot"]["images"] == {args["images"][0]: "absent"}
    assert run.result["snapshot"]["services"] == {"docker": "systemctl unavailable"}
    assert run.seconds < 3
