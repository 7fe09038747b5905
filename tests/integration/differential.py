"""The differential run: the generated cases (configgen.py) judged by the lab's real tritonserver 2.51 and by the
module's validator, model by model.

Cases go into shared repositories, a few hundred per server start (`--exit-on-error=false`); the verdict of each model
is read from the repository index (READY, UNAVAILABLE with its reason, or no state: its config never parsed) and the
server's log. A batch whose server dies or does not settle is split in two and judged again, down to single cases: a
case that takes a server down on its own is a crash, which the module must reject whatever else.

Triton's verdict per model:
- python models and ensembles of them are judged whole (the lab has the python backend);
- a model of a backend the lab lacks is judged "invalid" when Triton rejects it before it looks for the backend
  library, and "valid" when its only failure is "unable to find backend library" AND its python twin (the same
  config with backend python, made by the generator) loads: every rule Triton applies after it finds the backend
  passed on the twin. Without a twin, or with a rejected twin, it is not judged (counted apart).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import configgen
import tritonlab
import yaml
from ansible_collections.gpufleet.triton.plugins.module_utils import _model_config

BACKEND_MISSING = re.compile(r"unable to find backend library for backend '([^']*)'")
# The lab's tree has no repository agents (the NGC image has `checksum`): a model that names one is not judged.
AGENT_MISSING = re.compile(r"unable to find 'libtritonrepoagent_[^']*' for repo agent")
POLL_FAILED = re.compile(r"Poll failed for model directory '([^']+)': (.*)")
LOG_MODEL = re.compile(r"model '([^']+)'")
SERVER_ARGS = ("--exit-on-error=false", "--model-load-thread-count=4")
# Auto-complete off: the python backend then starts no stub of its own per model to ask model.py for its config,
# which makes a model's load about 3x cheaper. The module runs with strict=True to match; a share of the cases is
# judged with auto-complete on as well (strict=False).
STRICT_ARGS = ("--disable-auto-complete-config",)
# What the lab's Triton stands for: the NGC image's backends, and those of the vLLM and TensorRT-LLM images.
MODULE_BACKENDS = [*list(_model_config.DEFAULT_BACKENDS), "vllm", "tensorrtllm", "my_custom_backend"]
KNOWN_FILE = Path(__file__).with_name("differential_known.yml")


@dataclass
class Verdict:
    triton: str  # valid | invalid | backend_missing | crash | unjudged
    reason: str = ""


@dataclass
class Outcome:
    cases: list
    strict: bool = True
    triton: dict = field(default_factory=dict)  # model -> Verdict
    module: dict = field(default_factory=dict)  # model -> module report dict
    crashes: list = field(default_factory=list)  # case ids that took a server down alone
    batches: int = 0
    server_starts: int = 0
    seconds: float = 0.0


def _log_reasons(log: str) -> dict:
    """{model: reason} from the server log's error lines (poll failures, version policy)."""
    reasons = {}
    parse_error = None
    for line in log.splitlines():
        if "Error parsing text-format inference.ModelConfig" in line:
            parse_error = line.split("inference.ModelConfig: ", 1)[-1]
            continue
        m = POLL_FAILED.search(line)
        if m:
            reason = m.group(2)
            if parse_error and "failed to read text proto" in reason:
                reason = f"{reason} ({parse_error})"  # libprotobuf's line precedes the poll failure
            parse_error = None
            reasons.setdefault(m.group(1), reason)
            continue
        if line.startswith("E") or "[libprotobuf ERROR" in line:
            for name in LOG_MODEL.findall(line):
                reasons.setdefault(name, line.split("] ", 1)[-1])
    return reasons


def _judge_batch(root: Path, cases: list, work: Path, outcome: Outcome, timeout: float) -> bool:
    """Run one server on these cases; record verdicts and return True, or False when the server died or hung."""
    repo = work / "repo"
    for case in cases:
        configgen.write_case(case, repo)
    log_path = work / "triton.log"
    args = list(SERVER_ARGS) + (list(STRICT_ARGS) if outcome.strict else [])
    server = tritonlab.TritonServer(root, repo, extra_args=args, log_path=log_path)
    outcome.server_starts += 1
    server.start()
    try:
        index = server.wait_settled(timeout=timeout)
    finally:
        server.kill()
    if index is None:
        return False
    log = log_path.read_text(errors="replace") if log_path.exists() else ""
    reasons = _log_reasons(log)
    for case in cases:
        for name in case.models:
            entry = index.get(name)
            state = (entry or {}).get("state")
            reason = (entry or {}).get("reason") or reasons.get(name, "")
            if state == "READY":
                outcome.triton[name] = Verdict("valid")
            elif state == "UNAVAILABLE" and BACKEND_MISSING.search(reason):
                outcome.triton[name] = Verdict("backend_missing", reason)
            else:
                outcome.triton[name] = Verdict(
                    "invalid", reason or ("not in the index" if entry is None else "no state")
                )
    return True


def _judge(root: Path, cases: list, work: Path, outcome: Outcome, timeout: float) -> None:
    work.mkdir(parents=True)
    if _judge_batch(root, cases, work, outcome, timeout):
        return
    if len(cases) == 1:
        outcome.crashes.append(cases[0].id)
        for name in cases[0].models:
            outcome.triton[name] = Verdict("crash", "the server died or hung on this case alone")
        return
    half = len(cases) // 2
    _judge(root, cases[:half], work / "a", outcome, timeout)
    _judge(root, cases[half:], work / "b", outcome, timeout)


def _module_verdicts(cases: list, work: Path, outcome: Outcome) -> None:
    repo = work / "module-repo"
    for case in cases:
        configgen.write_case(case, repo)
    result = _model_config.validate_repository(
        str(repo), backends=MODULE_BACKENDS, gpu_count=0, strict=outcome.strict, return_config=False
    )
    for report in result["models"]:
        outcome.module[report["name"]] = report


def run(root: Path, work: Path, cases: list, strict: bool = True, batch_size: int = 200) -> Outcome:
    start = time.monotonic()
    outcome = Outcome(cases, strict=strict)
    plain = [c for c in cases if not c.risky]
    risky = [c for c in cases if c.risky]
    batches = [plain[i : i + batch_size] for i in range(0, len(plain), batch_size)]
    batches += [[c] for c in risky]
    for i, batch in enumerate(batches):
        _judge(root, batch, work / f"batch{i:03d}", outcome, timeout=240 if len(batch) > 1 else 30)
    outcome.batches = len(batches)
    _module_verdicts(cases, work, outcome)
    outcome.seconds = time.monotonic() - start
    return outcome


# -- comparison -------------------------------------------------------------------------------------------------------
@dataclass
class Row:
    case: configgen.Case
    model: str
    triton: str  # valid | invalid | crash
    module: str  # valid | invalid | fails (Triton loads it, the module fails it: loads_anyway findings only)
    triton_reason: str
    module_errors: list


def oracle(outcome: Outcome, case: configgen.Case, name: str) -> str | None:
    """Triton's verdict on one model (valid, invalid, crash), or None when the lab's Triton cannot judge it."""
    verdict = outcome.triton.get(name)
    if verdict is None or verdict.triton == "unjudged" or AGENT_MISSING.search(verdict.reason):
        return None
    if verdict.triton != "backend_missing":
        return verdict.triton
    twin = next((n for n, m in case.models.items() if m.twin_of == name), None)
    if twin is not None and outcome.triton.get(twin, Verdict("unjudged")).triton == "valid":
        return "valid"
    return None


def compare(outcome: Outcome) -> dict:
    rows, unjudged, outside = [], 0, 0
    for case in outcome.cases:
        for name in case.models:
            truth = oracle(outcome, case, name)
            if case.outside_figure:
                outside += 1
                continue
            if truth is None:
                unjudged += 1
                continue
            report = outcome.module[name]
            rows.append(
                Row(
                    case,
                    name,
                    truth,
                    "valid" if report["valid"] else "fails" if report["loads"] else "invalid",
                    outcome.triton[name].reason,
                    [e["message"] for e in report["errors"]],
                )
            )
    known = load_known()
    disagreements = [r for r in rows if not _agrees(r)]
    stricter = [r for r in rows if r.module == "fails" and r.triton == "valid"]
    unlisted = [r for r in disagreements + stricter if known_reason(known, r) is None]
    return {
        "stricter": stricter,
        "rows": rows,
        "judged": len(rows),
        "unjudged": unjudged,
        "outside_figure": outside,
        "agree": len(rows) - len(disagreements),
        "disagreements": disagreements,
        "unlisted": unlisted,
        "triton_rejected": sum(1 for r in rows if r.triton != "valid"),
    }


def _agrees(row: Row) -> bool:
    """Whether the module foresees Triton's decision: it loads the model (valid, or failed by the module for what
    Triton lets through), or it does not (invalid; a crash above all)."""
    loads = row.module in ("valid", "fails")
    return loads == (row.triton == "valid")


def load_known() -> list:
    if not KNOWN_FILE.exists():
        return []
    return yaml.safe_load(KNOWN_FILE.read_text()) or []


def known_reason(known: list, row: Row) -> str | None:
    for entry in known:
        if not re.fullmatch(entry["module"], row.module) or not re.fullmatch(entry["triton"], row.triton):
            continue
        if not re.fullmatch(entry.get("descriptor", ".*"), row.case.descriptor):
            continue
        if re.search(entry.get("triton_reason", ""), row.triton_reason):
            return entry["reason"]
    return None


def _case(outcome: Outcome, case_id: str) -> configgen.Case:
    return next(c for c in outcome.cases if c.id == case_id)


def summary(outcome: Outcome, result: dict) -> str:
    judged = result["judged"]
    mode = "off (strict)" if outcome.strict else "on"
    models = sum(len(c.models) for c in outcome.cases)
    rejected = result["triton_rejected"]
    agree = result["agree"]
    crashes_rejected = all(not outcome.module[m]["loads"] for c in outcome.crashes for m in _case(outcome, c).models)
    share = 100.0 * agree / max(judged, 1)
    strict_agree = 100.0 * (agree - len(result["stricter"])) / max(judged, 1)
    return "\n".join(
        [
            f"differential test, auto-complete {mode}: {len(outcome.cases)} generated cases, {models} models, "
            f"{outcome.server_starts} server starts, {outcome.seconds:.0f} s",
            f"  judged by the lab's tritonserver 2.51: {judged} models ({rejected} rejected by Triton, "
            f"{100.0 * rejected / max(judged, 1):.1f}%); not judged: {result['unjudged']}; backend files outside the "
            f"figure: {result['outside_figure']}",
            f"  agreement on whether Triton loads each model: {agree}/{judged} = {share:.2f}%; "
            f"disagreements: {len(result['disagreements'])}; crashes: {len(outcome.crashes)} (each rejected by the "
            f"module: {crashes_rejected})",
            f"  models Triton loads that the module fails (it cannot serve as configured): {len(result['stricter'])}; "
            f"agreement of the module's valid with Triton: {strict_agree:.2f}%; not listed in {KNOWN_FILE.name}: "
            f"{len(result['unlisted'])}",
        ]
    )


# -- the field each side names ------------------------------------------------------------------------------------
_FIELD_NAMES = None


def _field_names() -> set:
    global _FIELD_NAMES
    if _FIELD_NAMES is None:
        from tritonclient.grpc import model_config_pb2 as pb2

        names = set()
        for message in pb2.DESCRIPTOR.message_types_by_name.values():
            stack = [message]
            while stack:
                desc = stack.pop()
                names.update(f.name for f in desc.fields if "_" in f.name)
                stack.extend(desc.nested_types)
        _FIELD_NAMES = names
    return _FIELD_NAMES


def named_fields(text: str) -> set:
    """Config field names (those with an underscore: max_batch_size, not name) and single-quoted tensor or model
    names in a reason of Triton's (its log wraps each message in double quotes)."""
    words = set(re.findall(r"[a-z][a-z0-9_]*", text))
    quoted = set(re.findall(r"'([^'/]+)'", text))
    return (words & _field_names()) | {q for q in quoted if len(q) < 64}


PARSE_POSITION = re.compile(r"\((\d+):(\d+): ")


def field_mismatches(result: dict) -> tuple:
    """Where both reject a model: (rows where Triton names a field or tensor, those where no module error names any
    of them, parse errors, those where the module's line differs from libprotobuf's)."""
    named, missed, parsed, moved = 0, [], 0, []
    for row in result["rows"]:
        if row.triton != "invalid" or row.module != "invalid":
            continue
        position = PARSE_POSITION.search(row.triton_reason)
        said = " ".join(row.module_errors)
        if position:
            parsed += 1
            if f"inference.ModelConfig: {position.group(1)}:" not in said:
                moved.append(row)
            continue
        wanted = named_fields(row.triton_reason) - {row.model}
        if not wanted:
            continue
        named += 1
        if not any(w in said for w in wanted):
            missed.append(row)
    return named, missed, parsed, moved
