"""Run the lab's real tritonserver (CPU, python backend) on a model repository, bounded in time.

Used by the integration tests and the benchmark. Every server started here is killed (SIGTERM, then SIGKILL after
a grace period: a server can hang and ignore SIGTERM, e.g. a python model without model.py).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Lines a test wants printed at the end of the run (conftest.py's terminal summary): measured figures.
REPORT: list = []


def triton_root() -> Path | None:
    """The NGC-style tree the lab script lays out, or None when it cannot be had on this host."""
    env = os.environ.get("GPUFLEET_TRITON_ROOT")
    if env:
        return Path(env) if (Path(env) / "opt/tritonserver/bin/tritonserver").exists() else None
    script = REPO_ROOT / "lab/scripts/triton-tree.sh"
    if not script.exists():
        return None
    try:
        out = subprocess.run([str(script)], capture_output=True, text=True, timeout=300, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return None
    lines = [line for line in out.strip().splitlines() if line.strip()]
    if not lines:
        return None
    root = Path(lines[-1].strip())
    return root if (root / "opt/tritonserver/bin/tritonserver").exists() else None


_HANDED_OUT: set = set()
_PORTS_LOCK = threading.Lock()


def free_ports(count: int) -> list:
    """`count` distinct free ports that this process never handed out before.

    All sockets stay open until every port is picked: closed one by one, the kernel may give the same port twice,
    and Triton's gRPC listener (SO_REUSEPORT) then shares its port with the HTTP one. Servers start in parallel
    threads, hence the lock and the memory of ports already given."""
    with _PORTS_LOCK:
        held, ports = [], []
        try:
            while len(ports) < count:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                held.append(sock)
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
                if port not in _HANDED_OUT:
                    _HANDED_OUT.add(port)
                    ports.append(port)
        finally:
            for sock in held:
                sock.close()
        return ports


def free_port() -> int:
    return free_ports(1)[0]


def http_json(url: str, method: str = "GET", body: bytes | None = None, timeout: float = 2.0):
    """(status, parsed body or None); status 0 when nothing answers."""
    req = urllib.request.Request(url, data=body, method=method)  # noqa: S310 - local test server
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            data = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        data = exc.read()
        status = exc.code
    except (urllib.error.URLError, OSError, http.client.HTTPException):
        return 0, None  # nothing answers, or something that is not this server (a port taken meanwhile)
    try:
        return status, json.loads(data) if data else None
    except ValueError:
        return status, None


class TritonServer:
    """One tritonserver process on 127.0.0.1 with free ports and a private python-backend shm prefix."""

    def __init__(self, root: Path, repository: Path, extra_args=(), log_path: Path | None = None):
        self.root = Path(root)
        self.repository = Path(repository)
        self.extra_args = list(extra_args)
        self.http_port, self.grpc_port, self.metrics_port = free_ports(3)
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self._log = None
        self.shm_prefix = "gft" + uuid.uuid4().hex[:10]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def command(self) -> list[str]:
        opt = self.root / "opt/tritonserver"
        prefix = self.shm_prefix
        return [
            str(opt / "bin/tritonserver"),
            f"--model-repository={self.repository}",
            f"--backend-directory={opt / 'backends'}",
            "--http-address=127.0.0.1",
            "--grpc-address=127.0.0.1",
            f"--http-port={self.http_port}",
            f"--grpc-port={self.grpc_port}",
            "--allow-metrics=false",
            f"--metrics-port={self.metrics_port}",
            f"--backend-config=python,shm-region-prefix-name={prefix}",
            "--exit-timeout-secs=2",
            *self.extra_args,
        ]

    def env(self) -> dict:
        env = dict(os.environ)
        opt = self.root / "opt/tritonserver"
        env["LD_LIBRARY_PATH"] = str(opt / "lib")
        env["PATH"] = "/usr/bin:/bin:" + env.get("PATH", "")
        return env

    def start(self) -> TritonServer:
        if self.log_path:
            self._log = open(self.log_path, "wb")
            out = self._log
        else:
            out = subprocess.DEVNULL
        self.proc = subprocess.Popen(
            self.command(), env=self.env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_settled(self, timeout: float = 30.0) -> dict | None:
        """Poll the repository index until the server answers and no model is LOADING/UNLOADING.

        Returns {name: entry} (entry = the index dict), or None when the server died or never settled."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                return None
            status, index = http_json(self.url + "/v2/repository/index", method="POST", body=b"{}")
            if status == 200 and isinstance(index, list):
                busy = [e for e in index if e.get("state") in ("LOADING", "UNLOADING")]
                live, _ = http_json(self.url + "/v2/health/live")
                if not busy and live == 200:
                    return {e["name"]: e for e in index}
            time.sleep(0.1)
        return None

    def model_ready(self, name: str) -> bool:
        status, _ = http_json(f"{self.url}/v2/models/{name}/ready")
        return status == 200

    def stop(self, grace: float = 3.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        self._cleanup()

    def kill(self) -> None:
        """SIGKILL the server and its python stubs (its process group), then remove its shared memory."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        self._cleanup()

    def _cleanup(self) -> None:
        if self.proc is not None:
            try:  # stubs left behind in the group
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self._log:
            self._log.close()
            self._log = None
        shm = Path("/dev/shm")  # noqa: S108 - where the python backend keeps its regions
        if shm.is_dir():
            for leftover in shm.glob(self.shm_prefix + "*"):
                try:
                    leftover.unlink()
                except OSError:
                    pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def triton_verdict(root: Path, repo: Path, workdir: Path, timeout: float = 30.0, extra_args=()):
    """Start Triton on `repo`, return ({model: ready bool}, index dict or None, log text)."""
    log = workdir / "triton.log"
    server = TritonServer(root, repo, extra_args=["--exit-on-error=false", *extra_args], log_path=log)
    server.start()
    try:
        index = server.wait_settled(timeout=timeout)
        ready = {}
        if index is not None:
            for name in index:
                ready[name] = server.model_ready(name)
    finally:
        server.kill()  # the verdict is in; a graceful stop only costs time
    text = log.read_text(errors="replace") if log.exists() else ""
    return ready, index, text
