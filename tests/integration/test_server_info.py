"""gpufleet.triton.server_info against the real tritonserver, run the way Ansible runs it (`ansible localhost -m`)."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
import tritonlab
from adhoc import run_adhoc

pytestmark = pytest.mark.triton

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
GOOD = CORPUS / "valid" / "python_minimal" / "repo" / "add"


def run_module(ansible_bin, module: str, args: dict, timeout: float = 120):
    """Run `ansible localhost -m gpufleet.triton.<module> -a <json>`; return (rc, result dict)."""
    return run_adhoc(ansible_bin, f"gpufleet.triton.{module}", args, timeout=timeout)


def make_repo(tmp_path: Path, **bad) -> Path:
    """A repository with the good model `add` plus broken models given as {name: callable(dir)}."""
    repo = tmp_path / "models"
    repo.mkdir()
    shutil.copytree(GOOD, repo / "add")
    for name, build in bad.items():
        d = repo / name
        shutil.copytree(GOOD, d)
        build(d)
    return repo


def broken_parse(d: Path):
    (d / "config.pbtxt").write_text('backend: "python"\nmax_batch_size: 8\nfoo_bar: 1\n')


def broken_version(d: Path):
    (d / "1").rename(d / "v1")


def broken_python(d: Path):
    (d / "1" / "model.py").write_text("class TritonPythonModel:\n    def execute(self, requests)\n        return []\n")


def raising_initialize(d: Path):
    (d / "1" / "model.py").write_text(
        "class TritonPythonModel:\n    def initialize(self, args):\n        raise RuntimeError('no weights here')\n"
        "    def execute(self, requests):\n        return []\n"
    )


@pytest.fixture
def server_factory(triton_root, tmp_path):
    servers = []

    def start(repo: Path, delay: float = 0.0, extra_args=()):
        server = tritonlab.TritonServer(
            triton_root, repo, extra_args=["--exit-on-error=false", *extra_args], log_path=tmp_path / "triton.log"
        )
        servers.append(server)
        if delay:
            threading.Timer(delay, server.start).start()
        else:
            server.start()
        return server

    yield start
    for server in servers:
        deadline = time.monotonic() + 15
        while server.proc is None and time.monotonic() < deadline:
            time.sleep(0.1)
        server.kill()


def test_healthy_repository(ansible_bin, server_factory, tmp_path):
    repo = make_repo(tmp_path)
    server = server_factory(repo)
    rc, res = run_module(
        ansible_bin,
        "server_info",
        {"url": server.url, "repository": str(repo), "wait_for": "models_ready", "timeout": 60},
    )
    assert rc == 0, res
    assert res["live"] and res["ready"] and res["models_ready"]
    assert res["version"] == "2.51.0"
    assert res["missing"] == [] and res["unavailable"] == []
    assert {"name": "add", "version": "1", "state": "READY"} in [
        {k: m.get(k) for k in ("name", "version", "state")} for m in res["models"]
    ]
    assert res["expected"] == {"add": ["1"]}


def test_parse_failure_while_ready_is_200(ansible_bin, server_factory, tmp_path):
    repo = make_repo(tmp_path, bad=broken_parse)
    server = server_factory(repo)
    assert server.wait_settled(30) is not None
    assert tritonlab.http_json(server.url + "/v2/health/ready")[0] == 200  # the trap this module exists for
    rc, res = run_module(
        ansible_bin,
        "server_info",
        {"url": server.url, "models": ["add", "bad"], "wait_for": "models_ready", "timeout": 30, "interval": 0.5},
    )
    assert rc != 0
    assert res["ready"] is True and res["models_ready"] is False
    assert [m["name"] for m in res["missing"]] == ["bad"]
    assert "bad" in res["msg"] and "without a state" in res["msg"]
    assert res["elapsed"] < 20, "a settled parse failure must not wait for the timeout"


def test_version_resolution_failure(ansible_bin, server_factory, tmp_path):
    repo = make_repo(tmp_path, bad=broken_version)
    server = server_factory(repo)
    rc, res = run_module(
        ansible_bin,
        "server_info",
        {"url": server.url, "models": ["add", "bad"], "wait_for": "models_ready", "timeout": 8, "interval": 0.5},
    )
    assert rc != 0
    assert [m["name"] for m in res["missing"]] == ["bad"]
    assert "'bad' missing: not in the repository index" in res["msg"]


@pytest.mark.parametrize("build,reason", [(broken_python, "SyntaxError"), (raising_initialize, "no weights here")])
def test_unavailable_with_reason(ansible_bin, server_factory, tmp_path, build, reason):
    repo = make_repo(tmp_path, bad=build)
    server = server_factory(repo)
    rc, res = run_module(
        ansible_bin,
        "server_info",
        {"url": server.url, "repository": str(repo), "wait_for": "models_ready", "timeout": 60},
    )
    assert rc != 0
    assert [u["name"] for u in res["unavailable"]] == ["bad"]
    assert res["unavailable"][0]["state"] == "UNAVAILABLE"
    assert reason in res["unavailable"][0]["reason"]
    assert "model 'bad version 1' UNAVAILABLE" in res["msg"] and reason in res["msg"]


def test_server_not_yet_started(ansible_bin, server_factory, tmp_path):
    repo = make_repo(tmp_path)
    server = server_factory(repo, delay=3.0)
    rc, res = run_module(
        ansible_bin,
        "server_info",
        {"url": server.url, "models": ["add"], "wait_for": "models_ready", "timeout": 60, "interval": 0.5},
    )
    assert rc == 0, res
    assert res["models_ready"] and res["elapsed"] >= 1.0, "the first looks must have found nothing"


def test_server_never_comes_up(ansible_bin):
    port = tritonlab.free_port()
    start = time.monotonic()
    rc, res = run_module(
        ansible_bin,
        "server_info",
        {"url": f"http://127.0.0.1:{port}", "wait_for": "ready", "timeout": 3, "interval": 0.5},
    )
    assert rc != 0
    assert time.monotonic() - start < 30
    assert res["live"] is False
    assert f"Triton at http://127.0.0.1:{port} is not live after 3" in res["msg"]
    assert "refused" in res["msg"].lower()


def test_server_killed_mid_wait(ansible_bin, server_factory, tmp_path):
    """The server is up but a model is still loading (slow initialize); it is killed during the wait."""
    repo = make_repo(tmp_path)
    slow = repo / "slow"
    shutil.copytree(GOOD, slow)
    (slow / "1" / "model.py").write_text(
        "import time\n\n\nclass TritonPythonModel:\n    def initialize(self, args):\n        time.sleep(60)\n\n"
        "    def execute(self, requests):\n        return []\n"
    )
    server = server_factory(repo, extra_args=["--model-control-mode=explicit", "--load-model=add"])
    assert server.wait_settled(30) is not None
    tritonlab.http_json(server.url + "/v2/repository/models/slow/load", method="POST", body=b"{}", timeout=0.2)
    threading.Timer(4.0, server.kill).start()
    rc, res = run_module(
        ansible_bin,
        "server_info",
        {"url": server.url, "models": ["add", "slow"], "wait_for": "models_ready", "timeout": 15, "interval": 0.5},
    )
    assert rc != 0
    assert res["live"] is False
    assert "is not live" in res["msg"]
    assert res["elapsed"] >= 14


def test_wait_for_none_reports_without_failing(ansible_bin, server_factory, tmp_path):
    repo = make_repo(tmp_path, bad=broken_parse)
    server = server_factory(repo)
    assert server.wait_settled(30) is not None
    rc, res = run_module(ansible_bin, "server_info", {"url": server.url, "models": ["bad"]})
    assert rc == 0
    assert res["missing"][0]["name"] == "bad" and res["models_ready"] is False
