"""file_batch on generated items: a bad item fails before anything is written (the tree is as it was), a good batch
writes exactly what it was given and nothing beside it, and never a traceback or a hang."""

from __future__ import annotations

import os
import stat
import string

from _harness import Snapshot, run_module
from ansible_collections.gpufleet.triton.plugins.modules import file_batch
from hypothesis import event, given
from hypothesis import strategies as st

NAMES = st.text(string.ascii_letters + string.digits + "._- @:", min_size=1, max_size=12).filter(
    lambda n: n not in (".", "..")
)
MODES = st.one_of(
    st.sampled_from(["0644", "0600", "0700", "0755", "644", "4755", "0640"]),  # good
    st.sampled_from(["-1", "07777", "99999", "abc", "", "0o644", "u=rw", "0888", " 0644"]),  # bad strings
    st.integers(min_value=-(2**40), max_value=2**40),  # YAML's 0644 read as an int: refused
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)
CONTENT = st.text(max_size=200)
OWNERS = st.one_of(st.none(), st.sampled_from(["root", "0", "nobody-at-all", "-1", "4294967296", "٣", ""]))


def item_paths(root, names):
    return [os.path.join(str(root), *parts) for parts in names]


@st.composite
def batches(draw):
    dirs = draw(st.lists(st.lists(NAMES, min_size=1, max_size=2), max_size=3))
    files = draw(st.lists(st.tuples(st.lists(NAMES, min_size=1, max_size=3), CONTENT, MODES, OWNERS, st.booleans()),
                          max_size=4))  # fmt: skip
    dir_modes = draw(st.lists(MODES, min_size=len(dirs), max_size=len(dirs)))
    return dirs, dir_modes, files


def _existing(root, entries):
    """Something already on disk: files and folders under root, a FIFO, a link pointing outside."""
    for kind, name in entries:
        path = os.path.join(str(root), name)
        if os.path.lexists(path):
            continue
        if kind == "file":
            with open(path, "w") as handle:
                handle.write("old\n")
        elif kind == "dir":
            os.mkdir(path)
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "link":
            os.symlink("/etc/hostname", path)


@given(batches(), st.lists(st.tuples(st.sampled_from(["file", "dir", "fifo", "link"]), NAMES), max_size=4))
def test_a_batch_is_written_whole_or_not_at_all(tmp_path_factory, batch, existing):
    base = tmp_path_factory.mktemp("batch")
    root, beside = base / "root", base / "beside"
    root.mkdir()
    beside.mkdir()
    (beside / "keep").write_text("keep\n")
    _existing(root, existing)
    dirs, dir_modes, files = batch
    args = {
        "directories": [{"path": p, "mode": m} for p, m in zip(item_paths(root, dirs), dir_modes)],
        "files": [
            {
                "path": os.path.join(str(root), *parts),
                "content": content,
                "mode": mode,
                "owner": owner,
                "backup": backup,
            }
            for parts, content, mode, owner, backup in files
        ],
    }
    before, before_beside = Snapshot.of(root), Snapshot.of(beside)
    run = run_module(file_batch.main, args, timeout=20)
    assert Snapshot.of(beside).diff(before_beside) == [], "something beside the batch's root changed"
    event("failed" if run.failed else "written")
    if run.failed:
        assert before.diff(Snapshot.of(root)) == [], f"a failed batch changed the tree: {run.msg}"
        assert run.msg, "a failure says why"
        return
    for item in args["files"]:
        path = item["path"]
        assert stat.S_ISREG(os.lstat(path).st_mode), path
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            assert handle.read() == item["content"], path
        assert stat.S_IMODE(os.stat(path).st_mode) == int(str(item["mode"]), 8), path
    again = run_module(file_batch.main, args, timeout=20)
    assert not again.failed and not again.result["changed"], "a second run changes nothing"
