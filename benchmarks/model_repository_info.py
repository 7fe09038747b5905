#!/usr/bin/env python3
"""Benchmark gpufleet.triton.model_repository_info against repository size, and against a real Triton start.

Generates repositories of 100, 1,000 and 10,000 python models (every tenth an ensemble over the previous model) in a
temporary directory, times the module's validation through its own code path (RepositoryValidator, as the module
runs it, plus one run of the module file fed its JSON arguments the way Ansible does) and once through
`ansible localhost -m gpufleet.triton.model_repository_info` for 1,000 models. For comparison it starts the lab's
tritonserver on the 100-model repository and times it until every model is READY. Prints a Markdown table.

Usage: .venv/bin/python benchmarks/model_repository_info.py [--sizes 100,1000,10000] [--no-triton]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

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


def collection_root(tmp: Path) -> Path:
    root = tmp / "collections"
    (root / "ansible_collections" / "gpufleet").mkdir(parents=True)
    (root / "ansible_collections" / "gpufleet" / "triton").symlink_to(ROOT)
    return root


def time_validator(repo: Path) -> tuple[float, bool]:
    from ansible_collections.gpufleet.triton.plugins.module_utils._model_config import validate_repository

    start = time.perf_counter()
    result = validate_repository(str(repo))
    return time.perf_counter() - start, result["valid"]


def time_module_file(repo: Path, env: dict) -> float:
    payload = json.dumps({"ANSIBLE_MODULE_ARGS": {"path": str(repo)}})
    module = ROOT / "plugins" / "modules" / "model_repository_info.py"
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(module)], input=payload, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    assert json.loads(proc.stdout)["valid"], proc.stdout[-2000:]
    return elapsed


def time_ansible(repo: Path, env: dict) -> float:
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
        f"path={repo}",
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return elapsed


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
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    tmp = Path(tempfile.mkdtemp(prefix="gpufleet-bench-"))
    try:
        coll = collection_root(tmp)
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
            validator, valid = time_validator(repo)
            rows.append((f"{count:,} models", "validator (module code path, in process)", validator, valid))
            rows.append(
                (
                    f"{count:,} models",
                    "module file, JSON args on stdin (as Ansible runs it)",
                    time_module_file(repo, env),
                    True,
                )
            )
            if count == 1000:
                rows.append(
                    (
                        f"{count:,} models",
                        "`ansible localhost -m gpufleet.triton.model_repository_info`",
                        time_ansible(repo, env),
                        True,
                    )
                )
            if count == 100 and not args.no_triton:
                seconds = time_triton(repo, count)
                if seconds is not None:
                    rows.append(
                        (f"{count:,} models", "tritonserver 2.51 (CPU) start until /v2/health/ready", seconds, True)
                    )
            print(f"generated {count} models in {gen:.1f}s", file=sys.stderr)
        print("| repository | how | seconds | per model (ms) |")
        print("|---|---|---:|---:|")
        for repo_label, how, seconds, _ in rows:
            n = int(repo_label.split()[0].replace(",", ""))
            print(f"| {repo_label} | {how} | {seconds:.2f} | {seconds * 1000 / n:.2f} |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
