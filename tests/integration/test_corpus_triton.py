"""The module's verdict agrees with the real tritonserver's on every corpus case the CPU lab server can judge.

One server per case (`--exit-on-error=false`), a few at a time; each is SIGKILLed as soon as its repository index has
settled, and a case that does not settle in 30 s counts as a failure (the server is killed, never left hanging).
"""

from __future__ import annotations

import re
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import tritonlab
from ansible_collections.gpufleet.triton.plugins.module_utils._model_config import validate_repository
from corpus_cases import load_cases

pytestmark = pytest.mark.triton

CASES = [c for c in load_cases() if c.triton]
WORKERS = 3
_PARSE_RE = re.compile(r"Error parsing text-format inference\.ModelConfig: (\d+):(\d+): (.*)")
_POLL_RE = re.compile(r"Poll failed for model directory '([^']+)'")


@pytest.fixture(scope="session")
def triton_verdicts(triton_root):
    work = Path(tempfile.mkdtemp(prefix="gpufleet-corpus-"))

    def judge(case):
        wd = work / case.kind / case.name
        wd.mkdir(parents=True)
        repo = case.materialize(wd / "repo")
        start = time.monotonic()
        ready, index, log = tritonlab.triton_verdict(triton_root, repo, wd, timeout=30, extra_args=case.triton_args)
        return case.id, {"ready": ready, "index": index, "log": log, "repo": repo, "seconds": time.monotonic() - start}

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return dict(pool.map(judge, CASES))


def _libprotobuf_positions(log: str) -> dict:
    """{model: (line, column, message)} from Triton's stderr (the libprotobuf line precedes the poll failure)."""
    out = {}
    pending = None
    for line in log.splitlines():
        m = _PARSE_RE.search(line)
        if m:
            pending = (int(m.group(1)), int(m.group(2)), m.group(3))
            continue
        m = _POLL_RE.search(line)
        if m and pending:
            out[m.group(1)] = pending
            pending = None
    return out


_NAMED_RE = re.compile(r'(?:[Ff]ield(?: named)?|value of|[Ee]xtension) "([^"]+)"')


def _named_by_libprotobuf(message: str) -> list:
    """The fields, enum values and extensions a libprotobuf parse error names in double quotes."""
    return _NAMED_RE.findall(message)


def test_named_by_libprotobuf():
    assert _named_by_libprotobuf('Unknown enumeration value of "KIND_TPU" for field "kind".') == ["KIND_TPU", "kind"]
    oneof = 'Field "all" is specified along with field "latest", another member of oneof "p".'
    assert _named_by_libprotobuf(oneof) == ["all", "latest"]
    assert _named_by_libprotobuf('Expected integer, got: "8"') == []


def test_enough_cases_run_through_triton():
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_module_agrees_with_triton(case, triton_verdicts):
    seen = triton_verdicts[case.id]
    assert seen["index"] is not None, f"Triton did not settle within 30 s\n{seen['log'][-3000:]}"
    module = validate_repository(str(triton_verdicts[case.id]["repo"]), **case.options)
    verdicts = {m["name"]: m for m in module["models"]}
    for name in case.models:
        triton_ready = seen["ready"].get(name, False)
        assert triton_ready == case.triton_expected_ready(name), (
            f"Triton says {name} ready={triton_ready}, corpus expects {case.triton_expected_ready(name)}\n"
            f"index={seen['index'].get(name)}"
        )
        spec = case.models[name]
        if "triton_ready" not in spec:  # a documented, deliberate disagreement otherwise
            assert verdicts[name]["valid"] == triton_ready, (name, verdicts[name]["errors"])
    # Parse errors: the module reports protobuf's text_format, not libprotobuf's wording; it must point at the same
    # config.pbtxt and line and name what Triton names.
    for name, (line, _column, message) in _libprotobuf_positions(seen["log"]).items():
        parse_errors = [e for e in verdicts[name]["errors"] if "Error parsing text-format" in e["message"]]
        assert len(parse_errors) == 1, (message, verdicts[name]["errors"])
        error = parse_errors[0]
        assert error["file"] == str(seen["repo"] / name / "config.pbtxt"), error
        assert error["column"] >= 1, error
        # libprotobuf reports most errors at the token after the culprit, which can be on the next line or at the
        # end of the text; text_format reports the culprit itself.
        assert line - 1 <= error["line"] <= line, (line, message, error)
        for word in _named_by_libprotobuf(message):
            assert word in error["message"], (word, message, error)
