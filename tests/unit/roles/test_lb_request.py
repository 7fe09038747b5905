"""triton_server's load balancer hooks (roles/triton_server/files/lb_request.py) against a real HTTP server here:
the headers come from the file beside the script and never show, failures name the URL, the wait ends on a 200."""

from __future__ import annotations

import http.server
import json
import shutil
import socket
import subprocess
import sys
import threading
import typing
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "triton_server" / "files" / "lb_request.py"
TOKEN = "Bearer lb-unit-token-5f3a"  # noqa: S105 - a made-up token the output must not show


class Recorder(http.server.BaseHTTPRequestHandler):
    seen: typing.ClassVar[list] = []
    ready_after = 0  # GET answers 503 this many times, then 200
    models_ready: typing.ClassVar[set] = set()  # the models whose /v2/models/<name>/ready answers 200

    def log_message(self, *args):
        pass

    def answer(self, code):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        Recorder.seen.append((self.path, self.headers.get("Authorization"), self.rfile.read(0)))
        self.answer(500 if self.path == "/broken" else 200)

    def do_GET(self):
        Recorder.seen.append((self.path, None, b""))
        if self.path.startswith("/v2/models/"):
            self.answer(200 if self.path.split("/")[3] in Recorder.models_ready else 400)
            return
        Recorder.ready_after -= 1
        self.answer(200 if Recorder.ready_after < 0 else 503)


@pytest.fixture
def server():
    Recorder.seen, Recorder.ready_after, Recorder.models_ready = [], 0, set()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


@pytest.fixture
def hook(tmp_path):
    """The script as the role installs it: lb-request.py beside lb-headers.json."""
    shutil.copy(SCRIPT, tmp_path / "lb-request.py")
    (tmp_path / "lb-headers.json").write_text(json.dumps({"Authorization": TOKEN}))

    def run(*args):
        return subprocess.run([sys.executable, str(tmp_path / "lb-request.py"), *args], capture_output=True,
                              text=True, timeout=30, check=False)  # fmt: skip

    return run


def test_post_sends_the_headers_from_the_file_beside_it(hook, server):
    res = hook("post", f"{server}/drain?node=n1")
    assert res.returncode == 0, res.stderr
    assert Recorder.seen == [("/drain?node=n1", TOKEN, b"")]


def test_a_refused_post_names_the_url_and_status_not_the_headers(hook, server):
    res = hook("post", f"{server}/broken")
    assert res.returncode == 1 and res.stderr.strip() == f"POST {server}/broken: HTTP 500"
    assert "lb-unit-token" not in res.stdout + res.stderr


def test_an_unreachable_balancer_fails_naming_the_url(hook):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    res = hook("post", f"http://127.0.0.1:{port}/drain")
    assert res.returncode == 1 and res.stderr.startswith(f"POST http://127.0.0.1:{port}/drain: "), res.stderr


def test_wait_ready_returns_once_the_url_answers_200(hook, server):
    Recorder.ready_after = 2
    res = hook("wait-ready", f"{server}/v2/health/ready", "20")
    assert res.returncode == 0 and Recorder.ready_after < 0, res.stderr


def test_wait_ready_gives_up_after_its_seconds(hook, server):
    Recorder.ready_after = 1000
    res = hook("wait-ready", f"{server}/v2/health/ready", "1")
    assert res.returncode == 1 and res.stderr.strip() == f"{server}/v2/health/ready did not answer 200 within 1 s"


def test_wait_ready_waits_for_each_model_too(hook, server):
    Recorder.models_ready = {"add_sub"}
    timer = threading.Timer(1.5, Recorder.models_ready.add, ("identity",))
    timer.start()
    res = hook("wait-ready", f"{server}/v2/health/ready", "20", "add_sub", "identity")
    timer.join()
    assert res.returncode == 0, res.stderr
    assert ("/v2/models/identity/ready", None, b"") in Recorder.seen


def test_wait_ready_names_the_model_that_stays_unready(hook, server):
    Recorder.models_ready = {"add_sub"}
    res = hook("wait-ready", f"{server}/v2/health/ready", "1", "add_sub", "identity")
    assert res.returncode == 1
    assert res.stderr.strip() == f"{server}/v2/models/identity/ready did not answer 200 within 1 s"


@pytest.mark.parametrize(
    "args", [[], ["post"], ["wait-ready", "http://x", "soon"], ["delete", "http://x"], ["post", "file:///etc/shadow"]]
)
def test_other_arguments_print_the_usage(hook, args):
    res = hook(*args)
    assert res.returncode == 1 and res.stderr.startswith("usage: lb-request.py post URL"), res.stderr
