"""model_repository_info (the validator) on generated repositories and options.

Each example lays out a repository (see _model_repositories: hostile names, FIFOs, sockets, link loops, huge and deeply
nested configs, model.py the compiler chokes on) and judges it in process, then again in check mode. The validator
must give a verdict for every model folder, name the file of every finding, leave the disk as it was and return what
Ansible accepts (valid UTF-8), within a bounded time.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from _harness import Snapshot, run_module
from _model_repositories import NAMES, PY_OK, TEMPLATES, build, model_folders, repositories
from ansible.module_utils.common.validation import check_type_int
from ansible_collections.gpufleet.triton.plugins.module_utils._model_config import DEFAULT_BACKENDS
from ansible_collections.gpufleet.triton.plugins.module_utils._triton_image_variants import SERVING_VARIANTS
from ansible_collections.gpufleet.triton.plugins.modules import model_repository_info
from hypothesis import example, given, settings
from hypothesis import strategies as st

TIMEOUT = 30.0  # s: a generated repository is judged in well under a second; a FIFO read would wait forever
MAIN = model_repository_info.main
SLOW_EXAMPLES = max(2, settings.default.max_examples // 5)  # of the profile's number: 12 in ci, 120 in long


def _comparable(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "invocation"}


def _check_utf8(result: dict) -> None:
    # ansible-core 2.19 refuses a module result with a string that is not UTF-8 ("Refusing to deserialize an invalid
    # UTF8 string value"): the task would fail without the verdict.
    json.dumps(result, ensure_ascii=False).encode("utf-8")


@contextlib.contextmanager
def node_recursion_limit(frames: int = 1000):
    """Python's default recursion limit counted from here, as a module process has it from its start: hypothesis
    raises the limit while a test runs, which hid the validator's RecursionErrors."""
    depth, frame = 0, inspect.currentframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + frames)
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


def _judge(args: dict):
    """Run the module, then again in check mode: the same answer."""
    with node_recursion_limit():
        run = run_module(MAIN, args, timeout=TIMEOUT)
        again = run_module(MAIN, args, check_mode=True, timeout=TIMEOUT)
    assert _comparable(again.result) == _comparable(run.result), "check mode judged otherwise"
    _check_utf8(run.result)
    return run


def _check_findings(model: dict, where: list) -> None:
    """A verdict, and every finding names its file (under the model's folder) and says something."""
    assert isinstance(model["valid"], bool) and isinstance(model["loads"], bool)
    assert model["valid"] == (not model["errors"]), model
    for item in model["errors"] + model["warnings"]:
        assert item["message"], model
        assert any(item.get("file", "").startswith(place) for place in where), (item, model["path"])
        if item["message"].startswith("Error parsing text-format"):
            assert item.get("line"), item  # a parse error says where


validator_options = st.fixed_dictionaries(
    {
        # the image's backends and the LLM ones, whose files the validator reads too; an NGC serving variant's list
        # (what triton_server passes); or a few, or none
        "backends": st.one_of(
            st.just([*DEFAULT_BACKENDS, "vllm", "tensorrtllm", "my_custom"]),
            st.sampled_from([list(backends) for backends in SERVING_VARIANTS.values()]),
            st.lists(st.sampled_from(["python", "identity", "vllm", "my_custom", ""]), max_size=3),
        )
    },
    optional={
        "strict": st.booleans(),
        "gpu_count": st.one_of(st.integers(0, 8), st.just(2**70)),
        "return_config": st.booleans(),
    },
)


@given(repository=repositories(), options=validator_options, pick=st.lists(st.integers(0, 5), max_size=4))
def test_every_model_is_judged_and_the_disk_is_left_alone(tmp_path, repository, options, pick):
    root = tempfile.mkdtemp(dir=tmp_path)
    try:
        repo = build(root, repository)
        folders = model_folders(repo)
        args = {"path": repo, "fail_on_error": False, **options}
        utf8_names = sorted(n for n in os.listdir(repo) if os.path.isdir(os.path.join(repo, n)) and n.isprintable())
        chosen = [[*utf8_names, "absent"][i % (len(utf8_names) + 1)] for i in pick]
        if chosen:
            args["models"] = chosen  # some twice, some not there
        before = Snapshot.of(Path(root))
        run = _judge(args)
        assert Snapshot.of(Path(root)).diff(before) == [], "the validator changed the disk"
        result = run.result
        assert not run.failed, run.msg
        names = [m["name"] for m in result["models"]]
        assert len(names) == len(set(names)), "a model reported twice"
        expected = {n for n in chosen if n in folders} if chosen else folders
        assert set(names) == expected, "not every model folder got a verdict"
        for name in set(chosen) - folders:
            assert any(name in e["message"] and repo in e["message"] for e in result["errors"]), result["errors"]
        for model in result["models"]:
            _check_findings(model, [model["path"]])
            assert ("config" in model) == options.get("return_config", True)
        assert result["valid"] == (not result["errors"] and all(m["valid"] for m in result["models"]))
    finally:
        shutil.rmtree(root)


# Each file the validator reads (or checks), of each kind of model, replaced by each kind of entry: too few
# combinations for chance to find them all among generated repositories, so every one is run.
ENTRY_CASES = [
    (template, path, kind)
    for template, entries in enumerate(TEMPLATES)
    for path, _ in entries
    for kind in ["fifo", "socket", "loop", "dangling", "dir", "link_repo", "file"]
]
# The files whose absence (or a FIFO, a socket, a broken link in their place) must be a finding that names them.
NEEDED = {b"1/model.py", b"1/model.json", b"warmup/f", b"initial_state/s", b"labels.txt", b"libx.so"}


@pytest.mark.parametrize(("template", "path", "kind"), ENTRY_CASES)
def test_every_read_meets_every_kind_of_entry(tmp_path, template, path, kind):
    entries = [
        (p, "dir" if c is None else "file", c.encode() if isinstance(c, str) else c) for p, c in TEMPLATES[template]
    ]
    entries = [(p, kind, b"") if p == path else (p, k, c) for p, k, c in entries]
    repo = build(str(tmp_path), [{"name": b"m", "kind": "dir", "entries": entries}])
    before = Snapshot.of(tmp_path)
    run = _judge({"path": repo, "fail_on_error": False, "backends": [*DEFAULT_BACKENDS, "vllm"]})
    assert Snapshot.of(tmp_path).diff(before) == []
    [model] = run.result["models"]
    _check_findings(model, [model["path"]])
    if path in NEEDED and kind in ("fifo", "socket", "loop", "dangling", "file"):
        full, name = os.path.join(repo, "m", path.decode()), os.path.basename(path.decode())
        findings = model["errors"] + model["warnings"]
        if kind != "file":  # an empty file is a file; anything else is not one
            assert any(item.get("file") == full or name in item["message"] for item in findings), findings


@given(repository=repositories(max_models=3), fallback=repositories(max_models=3))
def test_a_fallback_repository_is_read_not_changed(tmp_path, repository, fallback):
    root = tempfile.mkdtemp(dir=tmp_path)
    try:
        repo = build(root, repository)
        os.rename(repo, os.path.join(root, "staged"))
        repo = os.path.join(root, "staged")
        live = build(root, fallback)
        before = Snapshot.of(Path(root))
        run = _judge({"path": repo, "fallback_path": live, "fail_on_error": False, "return_config": False})
        assert Snapshot.of(Path(root)).diff(before) == []
        assert not run.failed, run.msg
        names = {m["name"] for m in run.result["models"]}
        assert model_folders(repo) <= names, "a staged model without a verdict"
        for model in run.result["models"]:
            _check_findings(model, [repo, live])
            if "already_invalid" in model:
                assert model["path"].startswith(live)
    finally:
        shutil.rmtree(root)


IDENTITY = (
    'backend: "identity"\ninput { name: "I" data_type: TYPE_FP32 dims: [1] }\n'
    'output { name: "O" data_type: TYPE_FP32 dims: [1] }\n'
)


def _ensemble(uses: str) -> str:
    return (
        'platform: "ensemble"\ninput { name: "I" data_type: TYPE_FP32 dims: [1] }\n'
        'output { name: "O" data_type: TYPE_FP32 dims: [1] }\n'
        f'ensemble_scheduling {{ step {{ model_name: "{uses}" model_version: -1 input_map {{ key: "I" value: "I" }} '
        'output_map { key: "O" value: "O" } } }\n'
    )


def _model(repo: Path, name: str, config: str) -> None:
    (repo / name / "1").mkdir(parents=True)
    (repo / name / "config.pbtxt").write_text(config)


@settings(max_examples=SLOW_EXAMPLES)  # slow: up to 200 models written and judged twice per example
@given(
    length=st.integers(1, 200),
    back_to=st.one_of(st.none(), st.integers(0, 199)),
    leaf=st.sampled_from(["identity", "missing", "broken"]),
)
# Past Python's recursion limit (1000 frames) the cycle check raised RecursionError; too slow to generate often.
@example(length=1100, back_to=1000, leaf="identity")
def test_long_ensemble_chains_and_cycles(tmp_path, length, back_to, leaf):
    """e0 uses e1 ... uses the leaf model; or the last ensemble uses e<back_to>, a cycle."""
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    try:
        repo = root / "repo"
        cycle = back_to is not None and back_to < length
        for i in range(length):
            last = i == length - 1
            _model(repo, f"e{i}", _ensemble((f"e{back_to}" if cycle else "leaf") if last else f"e{i + 1}"))
        if leaf != "missing":
            _model(repo, "leaf", IDENTITY if leaf == "identity" else IDENTITY + "input {")
        run = _judge({"path": str(repo), "fail_on_error": False, "return_config": False})
        models = {m["name"]: m for m in run.result["models"]}
        assert set(models) == {f"e{i}" for i in range(length)} | ({"leaf"} if leaf != "missing" else set())
        sound = not cycle and leaf == "identity"
        for i in range(length):
            assert models[f"e{i}"]["valid"] == sound, models[f"e{i}"]
            if cycle and i >= back_to:
                assert any("circular dependency" in e["message"] for e in models[f"e{i}"]["errors"])
        assert run.result["valid"] == sound
    finally:
        shutil.rmtree(root)


@settings(max_examples=SLOW_EXAMPLES)  # slow: an ensemble of up to 300 steps, judged twice per example
@given(order=st.integers(1, 300).flatmap(lambda n: st.permutations(list(range(n)))))
def test_an_ensemble_of_hundreds_of_steps_in_any_order(tmp_path, order):
    """Step i maps tensor t<i> to t<i+1>; the steps are written in a generated order, which Triton does not mind."""
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    try:
        repo = root / "repo"
        _model(repo, "leaf", IDENTITY)
        steps = " ".join(
            f'step {{ model_name: "leaf" model_version: -1 input_map {{ key: "I" value: "t{i}" }} '
            f'output_map {{ key: "O" value: "t{i + 1}" }} }}'
            for i in order
        )
        _model(
            repo,
            "pipe",
            'platform: "ensemble"\ninput { name: "t0" data_type: TYPE_FP32 dims: [1] }\n'
            f'output {{ name: "t{len(order)}" data_type: TYPE_FP32 dims: [1] }}\nensemble_scheduling {{ {steps} }}\n',
        )
        run = _judge({"path": str(repo), "fail_on_error": True, "return_config": False})
        assert not run.failed and run.result["valid"], run.msg
    finally:
        shutil.rmtree(root)


def _large_config(shape: str, n: int) -> str:
    """A config with n of something, each with a finding (or, for the steps, in the worst order)."""
    if shape == "inputs":  # no data_type: a finding per input, each located in the text
        return 'backend: "python"\n' + "".join(f'input {{ name: "t{i}" dims: [1] }}\n' for i in range(n))
    if shape == "warmup":
        tensors = "".join(f'input {{ name: "t{i % (n // 2 + 1)}" data_type: TYPE_FP32 dims: [1] }}\n' for i in range(n))
        return 'backend: "python"\n' + tensors + 'model_warmup { name: "w" batch_size: 1 }\n'
    if shape == "outputs":  # outputs no step produces
        tensors = "".join(f'output {{ name: "o{i}" data_type: TYPE_FP32 dims: [1] }}\n' for i in range(n))
        return (
            'platform: "ensemble"\n'
            + tensors
            + (
                'ensemble_scheduling { step { model_name: "leaf" input_map { key: "I" value: "x" } '
                'output_map { key: "O" value: "y" } } }\n'
            )
        )
    steps = " ".join(  # each step needs the tensor the next one written produces
        f'step {{ model_name: "leaf" model_version: -1 input_map {{ key: "I" value: "t{i}" }} '
        f'output_map {{ key: "O" value: "t{i + 1}" }} }}'
        for i in reversed(range(n))
    )
    return (
        'platform: "ensemble"\ninput { name: "t0" data_type: TYPE_FP32 dims: [1] }\n'
        f'output {{ name: "t{n}" data_type: TYPE_FP32 dims: [1] }}\nensemble_scheduling {{ {steps} }}\n'
    )


SHAPES = ["inputs", "warmup", "outputs", "steps"]


@settings(max_examples=SLOW_EXAMPLES)  # slow: configs of up to 8000 tensors or steps
@given(shape=st.sampled_from(SHAPES), n=st.integers(1, 2000))
# Locating each finding scanned the text from its start, a duplicate input was counted by list.count() per sample,
# and the step order took a pass per step: minutes at this size. Too slow to generate often.
@example(shape="inputs", n=8000)
@example(shape="warmup", n=8000)
@example(shape="outputs", n=8000)
@example(shape="steps", n=8000)
def test_thousands_of_findings_or_steps_take_seconds(tmp_path, shape, n):
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    try:
        repo = root / "repo"
        _model(repo, "leaf", IDENTITY)
        _model(repo, "big", _large_config(shape, n))
        (repo / "big" / "1" / "model.py").write_bytes(PY_OK)
        with node_recursion_limit():
            run = run_module(MAIN, {"path": str(repo), "fail_on_error": False, "return_config": False}, timeout=10.0)
        big = next(m for m in run.result["models"] if m["name"] == "big")
        _check_findings(big, [big["path"]])
        assert big["valid"] == (shape == "steps"), big["errors"][:3]
    finally:
        shutil.rmtree(root)


def _not_infinity(value) -> bool:
    # ansible-core's int check (check_type_int) raises OverflowError on infinity, inside AnsibleModule(), before a
    # module can look at the value: not this collection's to fix, so not generated.
    return not (isinstance(value, str) and value.strip().lstrip("+-").lower() in ("inf", "infinity"))


GPU_COUNTS = st.one_of(
    st.none(),
    st.integers(),
    st.booleans(),
    st.floats(allow_infinity=False),
    st.text(max_size=6).filter(_not_infinity),
    st.sampled_from(["3", "-3", "1e3", "0x10", "nan", "3.0", "٣", [], {}, [1]]),
)


@given(gpu_count=GPU_COUNTS, path=st.sampled_from([None, "", " ", "\t\n"]), models=st.lists(NAMES, max_size=2))
def test_options_are_checked_before_anything_is_read(tmp_path, gpu_count, path, models):
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    args = {"path": str(repo) if path is None else path, "fail_on_error": False}
    if gpu_count is not None:
        args["gpu_count"] = gpu_count
    if models:
        args["models"] = [m.decode("utf-8", "replace") for m in models]
    run = run_module(MAIN, args, timeout=TIMEOUT)
    _check_utf8(run.result)
    try:  # argument_spec's conversion, as ansible-core does it
        count = None if gpu_count is None else check_type_int(gpu_count)
        good_gpus = count is None or (not isinstance(count, bool) and count >= 0)
    except TypeError:
        good_gpus = False
    if path is not None or not good_gpus:
        assert run.failed and "models" not in run.result, run.result  # refused before judging anything
    else:
        assert not run.failed, run.msg
    if run.failed:
        # the message names the option that is wrong (for a gpu_count that is no number, ansible-core's own words)
        named = [option for option in ("path", "gpu_count") if option in run.msg]
        assert named and ("path" not in named or path is not None) and ("gpu_count" not in named or not good_gpus)
    else:
        assert all(e["message"] for e in run.result["errors"])  # a named model that is not there
