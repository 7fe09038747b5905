#!/usr/bin/env python3
"""Benchmark gpufleet.triton.model_repository_info against repository size, and against a real Triton start.

Generates repositories of 100, 1,000 and 10,000 python models (every tenth an ensemble over the previous model) in a
temporary directory, times the module's validation through its own code path (RepositoryValidator, as the module
runs it, plus runs of the module file fed its JSON arguments the way Ansible does, with the default
`return_config: true` and with `return_config: false`) and through
`ansible localhost -m gpufleet.triton.model_repository_info` for 1,000 models (both settings). For comparison it
starts the lab's tritonserver on the 100-model repository and times it until every model is READY. Prints a Markdown
table of wall-clock seconds and CPU seconds (user + system of the process and its children: on a busy machine the
wall clock mostly measures the other processes); with --repeat N every figure is the median of N runs.

Usage: .venv/bin/python benchmarks/model_repository_info.py [--sizes 100,1000,10000] [--no-triton] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from _lab import collection_root  # noqa: E402 - benchmarks/ is on sys.path when this script runs

MODEL_PY = (
    "import triton_python_backend_utils as pb_utils\n\n\nclass TritonPythonModel:\n"
    "    def execute(self, requests):\n"
    "        return [pb_utils.InferenceResponse([pb_utils.Tensor('OUTPUT0', "
    "pb_utils.get_input_tensor_by_name(r, 'INPUT0').as_numpy())]) for r in requests]\n"
)
IO = (
    'input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 16 ] } ]\n'
    'output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 16 ] } ]\n'
)


def generate(repo: Path, count: int) -> None:
    for i in range(count):
        name = f"m{i:05d}"
        d = repo / name
        (d / "1").mkdir(parents=True)
        if i % 10 == 9:
            prev = f"m{i - 1:05d}"
            (d / "config.pbtxt").write_text(
                f'name: "{name}"\nplatform: "ensemble"\nmax_batch_size: 8\n{IO}'
                f'ensemble_scheduling {{ step [ {{ model_name: "{prev}" model_version: -1 '
                'input_map { key: "INPUT0" value: "INPUT0" } output_map { key: "OUTPUT0" value: "OUTPUT0" } } ] }\n'
            )
        else:
            (d / "1" / "model.py").write_text(MODEL_PY)
            (d / "config.pbtxt").write_text(
                f'name: "{name}"\nbackend: "python"\nmax_batch_size: 8\n{IO}'
                "dynamic_batching { preferred_batch_size: [ 4, 8 ] }\ninstance_group [ { kind: KIND_CPU count: 1 } ]\n"
            )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_validator(repo: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one in-process validation."""
    from ansible_collections.gpufleet.triton.plugins.module_utils._model_config import validate_repository

    start, cpu = time.perf_counter(), time.process_time()
    result = validate_repository(str(repo))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert result["valid"]
    return elapsed, cpu


def time_module_file(repo: Path, env: dict, return_config: bool = True) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of the module file with its JSON arguments on stdin."""
    payload = json.dumps({"ANSIBLE_MODULE_ARGS": {"path": str(repo), "return_config": return_config}})
    module = ROOT / "plugins" / "modules" / "model_repository_info.py"
    start, cpu = time.perf_counter(), _children_cpu()
    proc = subprocess.run([sys.executable, str(module)], input=payload, capture_output=True, text=True, env=env)
    elapsed, cpu = time.perf_counter() - start, _children_cpu() - cpu
    assert json.loads(proc.stdout)["valid"], proc.stdout[-2000:]
    return elapsed, cpu


def time_ansible(repo: Path, env: dict, return_config: bool = True) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the whole process tree) of one `ansible localhost -m` run."""
    ansible = ROOT / ".venv" / "bin" / "ansible"
    cmd = [
        str(ansible) if ansible.exists() else "ansible",
        "localhost",
        "-c",
        "local",
        "-i",
        "localhost,",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
        "-m",
        "gpufleet.triton.model_repository_info",
        "-a",
        f"path={repo} return_config={return_config}",
    ]
    start, cpu = time.perf_counter(), _children_cpu()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed, cpu = time.perf_counter() - start, _children_cpu() - cpu
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return elapsed, cpu


def time_triton(repo: Path, count: int) -> float | None:
    import tritonlab

    root = tritonlab.triton_root()
    if root is None:
        return None
    server = tritonlab.TritonServer(root, repo, extra_args=["--exit-on-error=false"])
    start = time.perf_counter()
    server.start()
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if not server.alive():
                return None
            status, _ = tritonlab.http_json(server.url + "/v2/health/ready")
            if status == 200:
                return time.perf_counter() - start
            time.sleep(0.2)
        return None
    finally:
        server.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--no-triton", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="report the median of this many runs of each timing")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    def median(fn, *fn_args, **fn_kwargs):
        runs = [fn(*fn_args, **fn_kwargs) for _ in range(max(1, args.repeat))]
        return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)

    tmp = Path(tempfile.mkdtemp(prefix="gpufleet-bench-"))
    try:
        coll = collection_root(tmp / "collections")
        sys.path.insert(0, str(coll))
        env = dict(
            os.environ,
            ANSIBLE_COLLECTIONS_PATH=str(coll),
            PYTHONPATH=str(coll),
            ANSIBLE_LOCALHOST_WARNING="false",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        )
        rows = []
        for count in sizes:
            repo = tmp / f"repo{count}"
            t0 = time.perf_counter()
            generate(repo, count)
            gen = time.perf_counter() - t0
            label = f"{count:,} models"
            rows.append((label, "validator (module code path, in process)", *median(time_validator, repo)))
            rows.append(
                (label, "module file, JSON args on stdin (as Ansible runs it)", *median(time_module_file, repo, env))
            )
            rows.append(
                (
                    label,
                    "module file, JSON args on stdin, `return_config: false`",
                    *median(time_module_file, repo, env, return_config=False),
                )
            )
            if count == 1000:
                rows.append(
                    (
                        label,
                        "`ansible localhost -m gpufleet.triton.model_repository_info`",
                        *median(time_ansible, repo, env),
                    )
                )
                rows.append(
                    (
                        label,
                        "`ansible localhost -m ...` with `return_config=false`",
                        *median(time_ansible, repo, env, return_config=False),
                    )
                )
            if count == 100 and not args.no_triton:
                seconds = time_triton(repo, count)
                if seconds is not None:
                    rows.append((label, "tritonserver 2.51 (CPU) start until /v2/health/ready", seconds, None))
            print(f"generated {count} models in {gen:.1f}s", file=sys.stderr)
        if args.repeat > 1:
            print(f"Each figure is the median of {args.repeat} runs.\n")
        print("| repository | how | seconds | per model (ms) | CPU seconds |")
        print("|---|---|---:|---:|---:|")
        for repo_label, how, seconds, cpu in rows:
            n = int(repo_label.split()[0].replace(",", ""))
            cpu_text = "-" if cpu is None else f"{cpu:.2f}"
            print(f"| {repo_label} | {how} | {seconds:.2f} | {seconds * 1000 / n:.2f} | {cpu_text} |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
