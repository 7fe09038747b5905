"""image_cache_node_info on generated folders, files, state files and image names, against a fake `docker` whose
answers are generated too (junk IDs, failures, a data root that is not a path).

What must hold: the module changes nothing (a snapshot of the tree before and after is equal), answers the same in
check mode, ends within its time, and either reports exactly what is on disk (existence, the state file's JSON, the
engine's answers) or fails naming the option or file that is wrong.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import tempfile
from pathlib import Path

import pytest
from _harness import Snapshot, run_module
from ansible_collections.gpufleet.triton.plugins.modules import image_cache_node_info
from hypothesis import event, given
from hypothesis import strategies as st

# A stand-in for the docker CLI: `docker info` and `docker image inspect` answer what the test wrote in $FAKE_DOCKER,
# and an image argument that looks like an option is taken as one, as the real CLI does (--help prints the usage and
# succeeds), unless it comes after "--".
FAKE_DOCKER = r"""#!/bin/sh
case "$1" in
info) cat "$FAKE_DOCKER/info.out"; exit "$(cat "$FAKE_DOCKER/info.rc")";;
image)
    shift 2
    while [ $# -gt 0 ]; do
        case "$1" in
        --format) shift 2;;
        --) shift; break;;
        -h|--help) echo "Usage:  docker image inspect [OPTIONS] IMAGE [IMAGE...]"; exit 0;;
        -*) echo "unknown flag: $1" >&2; exit 125;;
        *) break;;
        esac
    done
    cat "$FAKE_DOCKER/image.out"; exit "$(cat "$FAKE_DOCKER/image.rc")";;
esac
exit 1
"""


@pytest.fixture(autouse=True, scope="module")
def fake_docker():
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder, "bin", "docker")
        script.parent.mkdir()
        script.write_text(FAKE_DOCKER)
        script.chmod(0o755)
        answers = Path(folder, "answers")
        answers.mkdir()
        saved = {name: os.environ.get(name) for name in ("PATH", "FAKE_DOCKER")}
        os.environ.update(PATH=f"{script.parent}:/usr/bin:/bin", FAKE_DOCKER=str(answers))
        try:
            yield answers
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


KINDS = ["dir", "file", "fifo", "socket", "loop", "dangling", "link_dir"]


def build(root: Path) -> dict:
    """One entry of each kind in root/tree: {kind: path}."""
    tree = root / "tree"
    tree.mkdir()
    made = {kind: tree / kind for kind in KINDS}
    made["dir"].mkdir()
    made["file"].write_text("x")
    os.mkfifo(made["fifo"])
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(made["socket"]))
    made["loop"].symlink_to("loop")
    made["dangling"].symlink_to(root / "nowhere")
    made["link_dir"].symlink_to(made["dir"])
    return made


def candidate_paths(root: Path, made: dict):
    """Absolute paths: each kind, below each kind (most missing), non-UTF-8 names, one longer than PATH_MAX."""
    below = [made[k] / "a" / "b" for k in KINDS]
    odd = [root / os.fsdecode(b"caf\xe9"), root / ("x" * 255), Path("/" + "y/" * 2100), root / "new\nline"]
    return st.sampled_from([str(p) for p in [*made.values(), *below, *odd, root]])


WRONG_PATHS = st.sampled_from(["", "relative", "./tree", "tree/dir", "/a\0b", "a\0"])

STATE_CONTENT = st.one_of(
    st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5) | st.lists(st.booleans()), max_size=3).map(
        lambda d: json.dumps(d).encode()
    ),
    st.sampled_from(
        [
            b"",
            b"\n \t",
            b"[]",
            b"null",
            b"3",
            b'"s"',
            b"{",
            b'{"a": 1}{',
            b'{"a": "\xff"}',
            b"\xef\xbb\xbf{}",
            b"[" * 100_000,
            b'{"big": "' + b"x" * (2 * 2**20) + b'"}',
        ]
    ),
)


def state_file_value(draw, root: Path, made: dict):
    """(state_file option, the state the module must return or None when it must fail)."""
    kind = draw(st.sampled_from(["content", "content", "content", "missing", "dangling", *KINDS[:5], "link_dir"]))
    if kind == "content":
        path = root / "state.json"
        content = draw(STATE_CONTENT)
        path.write_bytes(content)
        try:
            state = json.loads(content.decode("utf-8")) if content.strip() else {}
        except (ValueError, RecursionError):
            state = None
        return str(path), state if isinstance(state, dict) else None
    if kind == "missing":
        return str(root / "missing.json"), {}
    if kind == "dangling":
        return str(made["dangling"]), {}  # a link to nothing: no state yet
    return str(made[kind]), None  # a folder, FIFO, socket or link loop: not a JSON file


IMAGE_REFS = st.lists(
    st.sampled_from(
        ["", "sha256:" + "a" * 64, "nvcr.io/nvidia/tritonserver:24.10-py3", "-h", "--help", "-q", "--", "é"]
    )
    | st.text(max_size=8).filter(lambda ref: "\0" not in ref),
    max_size=3,
)
# "\udcff": the byte 0xff, not UTF-8, once written out.
ENGINE_IDS = st.sampled_from(["sha256:" + "b" * 64, "", "  sha256:x  \n", "multi\nline", "\udcff", "é" * 10])


@given(data=st.data())
def test_it_reads_exactly_what_is_there_and_changes_nothing(data, fake_docker):
    # At most one option is wrong, so that the failure can be asked to name it.
    wrong = data.draw(st.sampled_from([None] * 6 + ["cache_dir", "files", "state_file", "images"]), label="wrong")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        made = build(root)
        paths = candidate_paths(root, made)
        args = {}
        if data.draw(st.booleans(), label="with cache_dir") or wrong == "cache_dir":
            # ansible-core's AnsibleModule() itself fails on a string option that is not UTF-8 (it logs the options
            # encoded as UTF-8); in a list, as in files, such a path is the module's to handle.
            utf8 = paths.filter(lambda path: not any("\udc80" <= char <= "\udcff" for char in path))
            args["cache_dir"] = data.draw(WRONG_PATHS if wrong == "cache_dir" else utf8, label="cache_dir")
        files = data.draw(st.lists(paths, max_size=4, unique=True), label="files")
        if wrong == "files":
            files.append(data.draw(WRONG_PATHS, label="wrong file"))
        args["files"] = files
        state = None
        if wrong == "state_file":
            args["state_file"] = data.draw(WRONG_PATHS, label="state_file")
        elif data.draw(st.booleans(), label="with state_file"):
            args["state_file"], state = state_file_value(data.draw, root, made)
        images = data.draw(IMAGE_REFS, label="images")
        if wrong == "images":
            images.append("nul\0byte")
        args["images"] = images
        args["docker_root"] = data.draw(st.booleans(), label="docker_root")

        # What the fake engine answers.
        engine_id, image_rc = data.draw(ENGINE_IDS, label="image id"), data.draw(st.sampled_from([0, 0, 1]))
        root_answer = data.draw(
            st.sampled_from([str(made["dir"]), str(root / "not" / "yet"), "", "relative", "/a\nb", "\udcff", "/x\0y"]),
            label="docker root",
        )
        info_rc = data.draw(st.sampled_from([0, 0, 1]), label="info rc")
        for name, value in {
            "image.out": engine_id,
            "image.rc": image_rc,
            "info.out": root_answer,
            "info.rc": info_rc,
        }.items():
            (fake_docker / name).write_bytes(str(value).encode("utf-8", "surrogateescape"))

        before = Snapshot.of(root)
        with contextlib.chdir(root):  # what a relative path would reach is in the snapshot
            run = run_module(image_cache_node_info.main, args, timeout=10)
            again = run_module(image_cache_node_info.main, args, check_mode=True, timeout=10)
        assert Snapshot.of(root).diff(before) == [], "an info module changed files"

        event(f"{wrong or 'ok'}: {run.msg.replace(tmp, '')[:50] if run.failed else 'ok'}")
        state_ok = "state_file" not in args or state is not None
        assert run.failed == (wrong is not None or not state_ok), f"{run.result} for {args!r}"
        assert comparable(again.result) == comparable(run.result), "check mode answers otherwise"
        if run.failed:
            named = re.search(rf"\b{wrong}\b", run.msg) if wrong else args["state_file"] in run.msg
            assert named, f"the failure names neither {wrong} nor the state file: {run.msg}"
            return

        result = run.result
        assert result["files"] == {p: os.path.lexists(p) for p in files}
        assert json.dumps(result["state"], sort_keys=True) == json.dumps(state or {}, sort_keys=True)
        answer = engine_id.strip() if image_rc == 0 else ""
        assert result["images"] == {ref: answer for ref in images if ref}, "an image name was taken as an option"
        spaces = [(result["cache_dir"], args["cache_dir"])] if "cache_dir" in args else []
        if args["docker_root"]:
            usable = info_rc == 0 and root_answer.startswith("/") and not {"\n", "\0"} & set(root_answer)
            spaces.append((result["docker_root"], root_answer if usable else "/var/lib/docker"))
        for space, path in spaces:
            assert space["path"] == path and isinstance(space["free_bytes"], int) and space["free_bytes"] >= 0
            assert os.path.isabs(space["mount"]) and os.path.ismount(space["mount"]), space


def comparable(result: dict) -> dict:
    """The result without what may change between two runs on a busy machine (free space)."""
    result = json.loads(json.dumps(result))
    result.pop("invocation", None)
    for key in ("cache_dir", "docker_root"):
        if isinstance(result.get(key), dict):
            result[key].pop("free_bytes", None)
    return result
