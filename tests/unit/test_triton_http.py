"""The HTTP client and the wait logic against a tiny local fake of Triton's REST API."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ansible_collections.gpufleet.triton.plugins.module_utils import _triton_http as th
from ansible_collections.gpufleet.triton.plugins.modules.server_info import parse_expected


class FakeTriton:
    def __init__(self):
        self.index = []
        self.ready = True
        self.model_ready = {}
        self.index_restricted = False
        self.seen_headers = []

    def handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body=None):
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                fake.seen_headers.append(dict(self.headers))
                if self.path == "/v2/health/live":
                    return self._send(200)
                if self.path == "/v2/health/ready":
                    return self._send(200 if fake.ready else 400)
                if self.path == "/v2":
                    return self._send(200, {"name": "triton", "version": "2.51.0", "extensions": ["model_repository"]})
                if self.path.startswith("/v2/models/") and self.path.endswith("/ready"):
                    name = self.path.split("/")[3]
                    return self._send(200 if fake.model_ready.get(name) else 400, {"error": "not ready"})
                return self._send(404, {"error": "not found"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                if self.path == "/v2/repository/index":
                    if fake.index_restricted:  # --http-restricted-api model-repository:<header>=<secret>, no header
                        return self._send(403, {"error": "This API is restricted"})
                    return self._send(200, fake.index)
                return self._send(404, {"error": "not found"})

        return Handler


@pytest.fixture
def fake():
    state = FakeTriton()
    server = ThreadingHTTPServer(("127.0.0.1", 0), state.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def test_assess_healthy(fake):
    fake.index = [{"name": "a", "version": "1", "state": "READY"}]
    fake.model_ready = {"a": True}
    client = th.TritonHTTPClient(fake.url, headers={"X-Token": "s3cret"})
    res = th.assess(client, {"a": ["1"]})
    assert res["live"] and res["ready"] and res["models_ready"]
    assert res["version"] == "2.51.0" and res["extensions"] == ["model_repository"]
    assert fake.seen_headers[0]["X-Token"] == "s3cret"


def test_assess_parse_failure_ready_200(fake):
    fake.index = [{"name": "a", "version": "1", "state": "READY"}, {"name": "bad"}]
    fake.model_ready = {"a": True}
    res = th.assess(th.TritonHTTPClient(fake.url), {"a": None, "bad": None})
    assert res["ready"] and not res["models_ready"]
    assert [m["name"] for m in res["missing"]] == ["bad"]
    assert "without a state" in res["missing"][0]["reason"]


@pytest.mark.parametrize("answers_ready", [True, False])
def test_assess_with_a_restricted_repository_api_asks_each_model(fake, answers_ready):
    fake.index_restricted = True
    fake.model_ready = {"a": answers_ready}
    res = th.assess(th.TritonHTTPClient(fake.url), {"a": None})
    assert res["models_ready"] is answers_ready
    assert [m["name"] for m in res["missing"]] == ([] if answers_ready else ["a"])


def test_assess_unavailable_reason(fake):
    fake.ready = False
    fake.index = [{"name": "bad", "version": "1", "state": "UNAVAILABLE", "reason": "Internal: SyntaxError"}]
    res = th.assess(th.TritonHTTPClient(fake.url), {"bad": None})
    assert res["unavailable"] == [
        {"name": "bad", "version": "1", "state": "UNAVAILABLE", "reason": "Internal: SyntaxError"}
    ]
    msg = th.describe_failure(res, "models_ready", 5, fake.url)
    assert "model 'bad version 1' UNAVAILABLE: Internal: SyntaxError" in msg


def test_wait_ends_early_on_settled_failure(fake):
    fake.index = [{"name": "bad"}]
    clock = iter(range(1000)).__next__
    _res, ok, elapsed = th.wait(
        th.TritonHTTPClient(fake.url), {"bad": None}, "models_ready", 100, 1, clock=clock, sleep=lambda s: None
    )
    assert not ok and elapsed < 5


def test_wait_times_out_when_unreachable():
    ticks = iter([0, 0, 1, 2, 3, 4, 5, 6, 7]).__next__
    sleeps = []
    res, ok, elapsed = th.wait(
        th.TritonHTTPClient("http://127.0.0.1:9", timeout=0.5), {}, "live", 3, 1, clock=ticks, sleep=sleeps.append
    )
    assert not ok and not res["live"] and elapsed >= 3 and sleeps
    assert "is not live after 3s" in th.describe_failure(res, "live", 3, "http://127.0.0.1:9")


def test_version_missing(fake):
    fake.index = [{"name": "a", "version": "1", "state": "READY"}]
    fake.model_ready = {"a": True}
    res = th.assess(th.TritonHTTPClient(fake.url), {"a": ["1", "2"]})
    assert res["missing"] == [{"name": "a", "version": "2", "reason": "version not in the index"}]


@pytest.mark.parametrize(
    "items,expected",
    [
        (["a", "b:2", "c:1,3"], {"a": None, "b": ["2"], "c": ["1", "3"]}),
        ([{"name": "a", "versions": [1, 2]}], {"a": ["1", "2"]}),
        ([{"name": "a", "versions": 3}], {"a": ["3"]}),
    ],
)
def test_parse_expected(items, expected):
    assert parse_expected(items) == expected


def test_parse_expected_rejects_nameless():
    with pytest.raises(ValueError):
        parse_expected([{"versions": [1]}])
