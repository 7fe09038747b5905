"""server_info and its HTTP client (module_utils/_triton_http.py) against a local server that answers whatever
hypothesis makes up: any status, JSON of every type, invalid or truncated bodies, answers larger than the client
reads, a connection closed before or within the answer, no answer at all, one byte at a time.

For any of these the module must give a result (no traceback) within timeout + request_timeout (+ a margin for a
loaded machine), options it cannot use are refused by name before any request, and no secret (a header value, the
password of the URL) is printed.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import socketserver
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from _harness import Snapshot, assert_no_secret, run_module
from ansible_collections.gpufleet.triton.plugins.module_utils import _triton_http
from ansible_collections.gpufleet.triton.plugins.modules import server_info
from hypothesis import given, settings
from hypothesis import strategies as st

MARGIN = 2.0  # seconds over timeout + request_timeout: thread start-up and scheduling on a busy CI machine
MAX_BODY = 64 * 1024  # the client's answer limit during these tests (16 MiB in use): larger answers stay cheap
MODELS = ("m0", "m1", "m2")
WAIT_FOR = ("none", "live", "ready", "models_ready")


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    shape: str = "whole"  # how it is sent: FakeTriton.send


WHOLE = ("whole", "unframed")  # well-formed HTTP answers
BROKEN = ("truncated", "chunked_junk", "closed", "garbage", "gzip", "gzip_junk")
SLOW = ("trickle_body", "trickle_head", "silent")


def endpoint(path: str) -> str:
    if path.startswith("/v2/models/"):
        return "model"
    return {"/v2/health/live": "live", "/v2/health/ready": "ready", "/v2": "meta", "/v2/repository/index": "index"}.get(
        path, "other"
    )


class FakeTriton:
    """A TCP server speaking just enough HTTP to give each endpoint the Answer set for it, in any shape."""

    def __init__(self):
        self.answers: dict = {}
        self.requests: list = []
        self.stop = threading.Event()  # ends the slow answers still running when a test is over
        self.gap = 0.1  # seconds between two bytes of a trickle: below every request_timeout used, so no read times out
        fake = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                try:
                    fake.serve(self.request)
                except OSError:  # the client gave up (a deadline) or reset the connection
                    pass

        socketserver.ThreadingTCPServer.daemon_threads = True
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.tcp.server_address[1]}"
        threading.Thread(target=self.tcp.serve_forever, daemon=True).start()

    def reset(self, answers: dict) -> None:
        self.answers = answers
        self.requests = []

    def serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        path = lines[0].split(" ")[1]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        while len(rest) < int(headers.get("content-length") or 0):
            chunk = conn.recv(65536)
            if not chunk:
                break
            rest += chunk
        where = endpoint(path)
        self.requests.append((where, headers))
        answer = self.answers.get(where, Answer(404, b'{"error": "not found"}'))
        # An echoing server (some proxies do): the received x-token in the answer, to be masked by the module.
        body = answer.body.replace(b"@ECHO@", json.dumps(headers.get("x-token", ""))[1:-1].encode())
        self.send(conn, answer.status, body, answer.shape)

    def send(self, conn: socket.socket, status: int, body: bytes, shape: str) -> None:
        line = b"HTTP/1.1 %d Whatever\r\n" % status
        framed = line + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
        if shape == "whole":
            conn.sendall(framed + body)
        elif shape == "unframed":  # no length: the body ends when the connection does
            conn.sendall(line + b"Connection: close\r\n\r\n" + body)
        elif shape == "truncated":
            conn.sendall(line + b"Content-Length: %d\r\n\r\n" % (len(body) + 100) + body)
        elif shape == "chunked_junk":
            conn.sendall(line + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n" + body)
        elif shape == "closed":
            pass
        elif shape == "garbage":  # not HTTP at all
            conn.sendall(body or b"\x00")
        elif shape in ("gzip", "gzip_junk"):  # ansible-core decompresses: a small bomb, or a stream that is not gzip
            packed = gzip.compress(body * 64 + b" " * (4 * MAX_BODY)) if shape == "gzip" else b"\x1f\x8b\x08" + body
            conn.sendall(line + b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(packed) + packed)
        elif shape == "trickle_head":
            self.trickle(conn, framed + body)
        elif shape == "trickle_body":  # 100 bytes or more, one at a time: seconds in all, every gap below a timeout
            body = body * 100 or b" " * 100
            conn.sendall(line + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
            self.trickle(conn, body)
        elif shape == "silent":  # reads the request, never answers
            conn.settimeout(self.gap)
            while not self.stop.is_set():
                try:
                    if not conn.recv(1):
                        return
                except socket.timeout:
                    continue
        else:
            raise AssertionError(shape)

    def trickle(self, conn: socket.socket, data: bytes) -> None:
        for i in range(len(data)):
            if self.stop.wait(self.gap):
                return
            conn.sendall(data[i : i + 1])

    def close(self) -> None:
        self.stop.set()
        self.tcp.shutdown()
        self.tcp.server_close()


@pytest.fixture(scope="module")
def fake():
    server = FakeTriton()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def small_answers(monkeypatch):
    monkeypatch.setattr(_triton_http, "MAX_BODY", MAX_BODY)
    # A proxy from the environment would stand between the module and the local server.
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


# -- what the server answers ----------------------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
index_entries = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(MODELS) | json_values,
        "version": st.sampled_from(["1", "2", 1]) | json_values,
        "state": st.sampled_from(["READY", "UNAVAILABLE", "LOADING", "UNLOADING", ""]) | json_values,
        "reason": st.text(max_size=20) | json_values,
    },
)
metadata = st.fixed_dictionaries({}, optional={"version": json_values, "extensions": json_values, "name": json_values})
bodies = st.one_of(
    json_values.map(json.dumps),
    st.lists(index_entries | json_values, max_size=5).map(json.dumps),
    metadata.map(json.dumps),
    st.binary(max_size=64),  # neither JSON nor, often, UTF-8
    st.sampled_from(
        [
            "",
            "[" * 100_000,  # nested past Python's recursion limit
            "1" * 5000,  # an integer past int()'s digit limit
            '[{"name": "m0", "state": "UNAVAILABLE", "reason": "\\udcff"}]',  # a lone surrogate
            '{"version": "2.51.0", "extensions": ["a", 1, null]}',
            "\ufeff[]",
            " " * (MAX_BODY + 1),  # larger than the client reads
        ]
    ),
).map(lambda body: body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body)
statuses = st.sampled_from([200, 200, 200, 204, 301, 304, 400, 403, 404, 500, 503]) | st.integers(100, 599)
answers = st.builds(Answer, status=statuses, body=bodies, shape=st.sampled_from(WHOLE * 3 + BROKEN))
routes = st.fixed_dictionaries({where: answers for where in ("live", "ready", "meta", "index", "model")})

# -- what the module is asked ---------------------------------------------------------------------------------------
model_items = st.one_of(
    st.sampled_from(MODELS),
    st.builds(lambda m, v: f"{m}:{','.join(v)}", st.sampled_from(MODELS), st.lists(st.sampled_from("123"))),
    st.builds(lambda m, v: {"name": m, "versions": v}, st.sampled_from(MODELS), st.lists(st.integers(0, 3))),
)


def module_args(url: str, **extra) -> dict:
    return {"url": url, "interval": 0.05, "request_timeout": 0.5, "timeout": 0, **extra}


def check_result(run, args: dict) -> None:
    """What every result owes its caller: the documented shape, a bounded time, a failure that names the server."""
    res = run.result
    bound = float(args["timeout"]) + float(args["request_timeout"]) + MARGIN
    assert run.seconds <= bound, f"{run.seconds:.2f} s > {bound} s for {args!r}"
    assert isinstance(res["live"], bool) and isinstance(res["ready"], bool) and isinstance(res["models_ready"], bool)
    assert res["version"] is None or isinstance(res["version"], str)
    assert all(isinstance(e, str) for e in res["extensions"])
    for entry in res["models"]:
        assert isinstance(entry["name"], str) and all(isinstance(v, str) for v in entry.values()), entry
    expected = set(res["expected"])
    for entry in res["missing"] + res["unavailable"]:
        assert entry["name"] in expected and isinstance(entry.get("reason", ""), str), entry
    if res["models_ready"]:
        assert res["live"] and res["ready"] and not res["missing"] and not res["unavailable"]
    if args.get("wait_for", "none") == "none":
        assert not run.failed, run.msg
    if run.failed:
        assert run.msg.startswith("Triton at http://127.0.0.1:"), run.msg


@given(
    route=routes,
    models=st.lists(model_items, max_size=3),
    wait_for=st.sampled_from(WAIT_FOR),
    timeout=st.sampled_from([0, 0.1]),
)
def test_any_answer_gives_a_result(fake, route, models, wait_for, timeout):
    fake.reset(route)
    args = module_args(fake.url, models=models, wait_for=wait_for, timeout=timeout)
    run = run_module(server_info.main, args, timeout=10)
    check_result(run, args)
    # Well-formed answers are read for what they say: live and ready are exactly their endpoints' 200.
    if all(a.shape in WHOLE and a.status >= 200 and len(a.body) <= MAX_BODY for a in route.values()):
        assert run.result["live"] is (route["live"].status == 200), run.result
        assert run.result["ready"] is (route["ready"].status == 200), run.result


@given(
    slow=st.sampled_from(("live", "ready", "index", "model")),
    shape=st.sampled_from(SLOW),
    wait_for=st.sampled_from(WAIT_FOR),
    timeout=st.sampled_from([0, 0.3, 0.6]),
    request_timeout=st.sampled_from([0.2, 0.4]),
)
# Slow by design (each example waits up to timeout + request_timeout, about 1 s): a sixth of the profile's examples.
@settings(max_examples=max(5, settings.default.max_examples // 6))
def test_a_slow_server_cannot_stretch_the_wait(fake, slow, shape, wait_for, timeout, request_timeout):
    ok = json.dumps([{"name": m, "version": "1", "state": "READY"} for m in MODELS]).encode()
    route = {where: Answer(200, ok if where == "index" else b"{}") for where in ("live", "ready", "meta", "index")}
    route["model"] = Answer(200)
    route[slow] = Answer(200, b"{}", shape)
    fake.reset(route)
    args = module_args(fake.url, models=["m0"], wait_for=wait_for, timeout=timeout, request_timeout=request_timeout)
    run = run_module(server_info.main, args, timeout=timeout + request_timeout + 10)
    check_result(run, args)
    if wait_for != "none":  # the look never ends whole, so what was waited for is not seen
        assert run.failed and any(why in run.msg for why in ("no whole answer", "no time left", "timed out")), run.msg


# -- options refused before any request ----------------------------------------------------------------------------
bad_seconds = st.one_of(
    st.sampled_from([float("nan"), float("inf"), float("-inf"), True, False, "nan", "inf", "-1", "1e999", "", "5s"]),
    st.floats(max_value=-0.001),
    st.floats(min_value=86400.5, allow_infinity=False),
    st.integers(min_value=10**6),
    st.integers(max_value=-1),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
bad_urls = st.sampled_from(
    [
        "ftp://127.0.0.1/",
        "file:///etc/passwd",
        "http://",
        "http://127.0.0.1:99999",
        "http://127.0.0.1:port",
        "http://[::1",
        "http://127.0.0.1/x?y=1",
        "http://127.0.0.1/#top",
        "http://user:p@ss@127.0.0.1",
        "http://127.0.0.1/a b",
        "http://127.0.0.1\n",
        "http://tritón:8000",
        "127.0.0.1:8000",
        "",
    ]
)
bad_headers = st.one_of(
    # (a distinctive value: ansible-core masks every occurrence of a no_log value, "x" would hit "expected")
    st.builds(lambda n: {n: "Sx7-value"}, st.sampled_from(["", "X Token", "X:Token", "Ünicode", "X-Token\n", "a\x00"])),
    st.builds(
        lambda v: {"X-Token": v},
        st.one_of(
            st.none(),
            st.booleans(),
            st.lists(st.text(max_size=3), max_size=2),
            st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
            st.just(float("nan")),
            st.text(max_size=8).map(lambda t: "Sx7-" + t + "\n"),  # the trailing newline of a block scalar
            st.builds("Sx7-{}\r\n{}".format, st.text(max_size=4), st.text(max_size=4)),
            st.builds("Sx7-{}\x00{}".format, st.text(max_size=4), st.text(max_size=4)),
            st.text(min_size=1, max_size=4).map(lambda t: "Sx7-\u20ac" + t),  # not ISO-8859-1
        ),
    ),
)
bad_models = st.one_of(
    st.sampled_from(["", " ", "a/b", ".", "..", "m\x00", "m:1.5", "m:x", "m:-1", "m:\u0661", ":1", "m:" + "9" * 30]),
    st.sampled_from([None, True, 1.5, [], ["m0"], {}]),
    st.builds(lambda v: {"name": "m0", "versions": v}, st.sampled_from([True, -1, 1.5, "x", [None], {"a": 1}])),
    st.sampled_from([{"name": "m0", "version": 1}, {"versions": [1]}, {"name": ["m0"]}, {"name": "\udcff"}]),
)


@given(
    data=st.one_of(
        st.tuples(st.sampled_from(["interval", "request_timeout", "timeout"]), bad_seconds),
        st.tuples(st.just("headers"), bad_headers),
        st.tuples(st.just("models"), bad_models.map(lambda item: [item])),
    ),
    wait_for=st.sampled_from(WAIT_FOR),
)
def test_unusable_options_are_refused_by_name_before_any_request(fake, data, wait_for):
    option, value = data
    fake.reset({})
    args = module_args(fake.url, wait_for=wait_for, **{option: value})
    run = run_module(server_info.main, args, timeout=10)
    assert run.failed and fake.requests == [], (run.result, fake.requests)
    # models[i] for an item, headers: for a value; the expectation follows the option's name
    assert run.msg.startswith(option) and ("expected" in run.msg or "must be written" in run.msg), run.msg
    if option == "headers":
        assert_no_secret(run, *[str(v) for v in value.values()])


@given(url=bad_urls, password=st.booleans())
def test_unusable_urls_are_refused_by_name(url, password):
    if password and "://" in url:
        url = url.replace("://", "://user:Sx7-url-secret@", 1)
    run = run_module(server_info.main, {"url": url, "wait_for": "live", "request_timeout": 2, "timeout": 2})
    assert run.failed and run.msg.startswith("url:"), run.msg
    assert "expected" in run.msg or "must be written" in run.msg, run.msg
    assert run.seconds < 1, "asked the network before refusing the URL"
    assert_no_secret(run, "Sx7-url-secret")


@pytest.fixture(scope="module")
def odd_files(tmp_path_factory):
    """Every kind of path a PEM file option must refuse (none of them is a readable regular file)."""
    root = tmp_path_factory.mktemp("pem")
    os.mkfifo(root / "fifo")  # reading it would block until a writer comes
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "socket"))
    (root / "loop").symlink_to(root / "loop")
    (root / "dangling").symlink_to(root / "nowhere")
    (root / "folder").mkdir()
    paths = [root / n for n in ("fifo", "socket", "loop", "dangling", "folder", "missing")]
    paths += [Path("/dev/zero"), Path(str(root / "nul\x00name")), root / ("x" * 300)]
    yield root, [str(p) for p in paths]
    sock.close()


@given(option=st.sampled_from(["ca_path", "client_cert", "client_key"]), pick=st.integers(0, 8))
def test_pem_file_options_must_be_readable_files(fake, odd_files, option, pick):
    root, paths = odd_files
    args = module_args(fake.url, wait_for="live", validate_certs=True)
    args[option] = paths[pick]
    if option != "ca_path":  # cert and key go together
        other = "client_key" if option == "client_cert" else "client_cert"
        args[other] = str(root / "cert.pem")
        (root / "cert.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    fake.reset({})
    before = Snapshot.of(root)
    run = run_module(server_info.main, args, timeout=10)
    assert run.failed and run.msg.startswith(option + " ") and "expected a PEM file" in run.msg, run.msg
    assert fake.requests == [] and not Snapshot.of(root).diff(before)


# -- secrets --------------------------------------------------------------------------------------------------------
# Marked pieces ("Sx7-"): a generated secret that happens to be common text ("live") would be found everywhere.
secret_lines = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=10)
header_secrets = st.one_of(
    secret_lines.map(lambda t: "Sx7-" + t),
    st.builds("  Sx7-{}\t".format, secret_lines),  # white space around: what a server echoes back is trimmed
    st.builds("Sx7-{}{}".format, secret_lines, st.sampled_from(["\n", "\r\n", "\r"])),
    st.builds("Sx7-{}{}Sx7-{}".format, secret_lines, st.sampled_from(["\n", "\r\n", "\r"]), secret_lines),
)
url_passwords = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=10).map(lambda t: "Sx7-" + t)
echoing = st.sampled_from(
    [
        {"index": Answer(200, b'[{"name": "m0", "state": "UNAVAILABLE", "reason": "token @ECHO@ refused"}]')},
        {"live": Answer(500, b'{"error": "bad token @ECHO@"}')},
        {"live": Answer(200), "ready": Answer(200), "index": Answer(403, b'{"error": "@ECHO@"}')},
        {"live": Answer(200, shape="closed")},
        {"live": Answer(200, shape="garbage")},
    ]
)


def strings_in(value):
    """Every key and string of a parsed result: JSON escapes hide a secret from a search of the raw output."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)
    elif isinstance(value, str):
        yield value


@given(
    header=header_secrets,
    password=url_passwords,
    route=echoing,
    wait_for=st.sampled_from(WAIT_FOR),
    refused=st.booleans(),
)
def test_secrets_are_never_printed(fake, header, password, route, wait_for, refused):
    fake.reset(route)
    host = "127.0.0.1:9" if refused else fake.url.split("//")[1]  # port 9: nothing listens, the connection is refused
    url = f"http://triton:{quote(password, safe='')}@{host}"
    args = module_args(url, headers={"X-Token": header}, models=["m0"], wait_for=wait_for)
    run = run_module(server_info.main, args, timeout=10)
    secrets = [header, password, quote(password, safe="")]
    assert_no_secret(run, *secrets)
    text = "\n".join(strings_in(run.result))
    for secret in secrets:
        for piece in {secret, *secret.splitlines()}:
            assert len(piece.strip()) < 4 or piece not in text, f"secret {piece!r} in the result: {run.result!r}"
    if "\r" in header or "\n" in header:  # refused by name, before the server heard the token
        assert run.failed and run.msg.startswith("headers: the value of X-Token has a line break"), run.msg
        assert fake.requests == []


# -- the models option ---------------------------------------------------------------------------------------------
@given(items=st.lists(model_items, max_size=6), seed=st.randoms(use_true_random=False))
def test_expected_models_do_not_depend_on_order_or_repetition(items, seed):
    """A model listed twice is expected in every version listed (a plain name: any), whatever the order."""
    shuffled = list(items)
    seed.shuffle(shuffled)
    reference = {}
    for item in items:
        name, versions = (item["name"], item["versions"]) if isinstance(item, dict) else (item.partition(":")[::2])
        if isinstance(versions, str):
            versions = [v for v in versions.split(",") if v]
        reference.setdefault(name, set()).update(str(v) for v in versions)
    expected = {name: sorted(v, key=int) or None for name, v in reference.items()}
    assert server_info.parse_expected(items) == expected
    assert server_info.parse_expected(shuffled) == expected


# -- the same secrets through a real `ansible-playbook -vvv` -------------------------------------------------------
# A fixed set: a whole ansible run costs seconds, so one playbook holds every case (each task may fail, and does).
VVV_PASSWORD = "Sx7-url/secret"  # noqa: S105 - made up; written %2F in the URL, both forms must stay hidden


def test_secrets_stay_out_of_an_ansible_playbook_vvv_run(fake, ansible_bin, tmp_path):
    fake.reset(
        {
            "live": Answer(200),
            "ready": Answer(200),
            "meta": Answer(500, b'{"error": "token @ECHO@ refused"}'),
            "index": Answer(200, b'[{"name": "m0", "state": "UNAVAILABLE", "reason": "token @ECHO@ refused"}]'),
        }
    )
    host = fake.url.split("//")[1]
    secret_url = f"http://triton:{quote(VVV_PASSWORD, safe='')}@{host}"
    common = {"wait_for": "models_ready", "models": ["m0"], "timeout": 0, "request_timeout": 2}
    cases = [
        ("a header value ending in a newline", {"url": fake.url, "headers": {"X-Token": "Sx7-newline-secret\n"}}),
        ("CR LF inside a header value", {"url": fake.url, "headers": {"X-Token": "Sx7-first-half\r\nSx7-second-half"}}),
        ("a server echoing the token, a password in the URL", {"url": secret_url, "headers": {"X-Token": "Sx7-echo"}}),
        ("an option failing validation next to a password in the URL", {"url": secret_url, "validate_certs": "maybe"}),
        ("a password in the URL of a port nobody listens on", {"url": "http://triton:Sx7-pw@127.0.0.1:9"}),
    ]
    tasks = [
        {"name": name, "gpufleet.triton.server_info": {**common, **args}, "ignore_errors": True} for name, args in cases
    ]
    playbook = tmp_path / "secrets.yml"  # JSON is YAML, and escapes the control characters exactly
    playbook.write_text(
        json.dumps([{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}])
    )
    out = subprocess.run(
        [str(Path(ansible_bin).with_name("ansible-playbook")), "-vvv", "-i", "localhost,", str(playbook)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0 and text.count("...ignoring") == len(cases), text[-3000:]
    for secret in ("Sx7-newline-secret", "Sx7-first-half", "Sx7-second-half", "Sx7-echo", "Sx7-pw", VVV_PASSWORD):
        assert secret not in text and quote(secret, safe="") not in text, f"{secret!r} printed:\n{text[-3000:]}"
