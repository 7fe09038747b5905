# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A small client for Triton's HTTP/REST API (KServe v2 protocol plus Triton's repository extension).

Uses only ansible-core's open_url, so it runs on any node with Python. Private to this collection: no stable API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import socket
import threading
import time
import zlib

from ansible.module_utils.six import integer_types, string_types
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import quote, unquote, urlsplit
from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import MissingModuleError, open_url

try:
    from http.client import HTTPException
except ImportError:  # pragma: no cover - Python 2
    from httplib import HTTPException  # type: ignore

# Triton's largest answer is the repository index: a few hundred bytes a model. More than this is not Triton, and
# reading it all would only fill the node's memory.
MAX_BODY = 16 * 1024 * 1024
_CHUNK = 64 * 1024
# A JSON integer longer than this is junk; int() of millions of digits takes minutes on Python < 3.11.
_MAX_INT_DIGITS = 64
MASK = "********"
MAX_TIMEOUT = 86400  # seconds a request may take at most


class TritonUnreachable(Exception):
    """Nothing answered (connection refused/reset, DNS, TLS or timeout)."""


def url_password(url):
    """The password written in a URL's user information (as written, and percent-decoded), or () when none."""
    netloc = urlsplit(url).netloc
    userinfo, at, _host = netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return ()
    password = userinfo.split(":", 1)[1]
    return tuple(p for p in (password, unquote(password)) if p)


def redact_url(url):
    """The URL with the password of its user information replaced by ********."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return parts._replace(netloc="%s:%s@%s" % (user, MASK, host)).geturl()


def _json_int(text):
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise ValueError("integer of %d digits" % len(text))
    return int(text)


class Response:
    def __init__(self, status, body):
        self.status = status
        self.body = body

    def json(self):
        """The body as JSON, or None when it is empty or not JSON (invalid, not UTF-8, nested too deep)."""
        if not self.body:
            return None
        try:
            text = self.body.decode("utf-8") if isinstance(self.body, bytes) else self.body
            return json.loads(text, parse_int=_json_int)
        except (ValueError, RecursionError):
            return None

    def error_text(self):
        data = self.json()
        if isinstance(data, dict) and isinstance(data.get("error"), string_types) and data["error"]:
            return data["error"]
        if isinstance(self.body, bytes):
            return self.body.decode("utf-8", "replace").strip()
        return (self.body or "").strip()


def _read_bounded(resp, deadline):
    """At most MAX_BODY bytes of a response, one socket read at a time so that a trickle stops at the deadline."""
    read = getattr(resp, "read1", None) or resp.read
    chunks = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise socket.timeout("the answer did not end in time")
        chunk = read(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_BODY:
            raise ValueError("answer larger than %d bytes" % MAX_BODY)
        chunks.append(chunk)


# What an exchange can raise from the network or the server's answer: ansible's own errors for TLS and proxies, and
# EOFError and zlib.error from an answer that says it is gzip and is not (ansible-core decompresses it).
_NETWORK_ERRORS = (
    URLError,
    OSError,
    HTTPException,
    ValueError,
    EOFError,
    zlib.error,
    UrlsConnectionError,
    MissingModuleError,
)


def _exchange(url, kwargs, deadline):
    """One request and its whole answer: (status, body) or (None, reason)."""
    try:
        resp = open_url(url, **kwargs)
        try:
            return resp.getcode(), _read_bounded(resp, deadline)
        finally:
            resp.close()
    except HTTPError as exc:
        try:
            return exc.code, _read_bounded(exc, deadline)
        except (*_NETWORK_ERRORS, AttributeError):  # an HTTPError without a body (fp None) or cut short
            return exc.code, b""
    except _NETWORK_ERRORS as exc:
        return None, str(getattr(exc, "reason", None) or exc)


def _within(seconds, func, *args):
    """func(*args) in a thread, or None when it has not returned within `seconds`: a socket timeout bounds each read,
    not a whole answer (a server may send one byte a second forever, a name may take long to resolve). The thread is
    left to end on its own; it is a daemon, so it never holds the module's exit."""
    box = []

    def target():
        try:
            box.append((True, func(*args)))
        except Exception as exc:  # handed to the caller's thread, where it is raised again: nothing is swallowed
            box.append((False, exc))

    worker = threading.Thread(target=target, name="triton-http")
    worker.daemon = True
    worker.start()
    worker.join(seconds)
    if not box:
        return None
    ok, value = box[0]
    if not ok:
        raise value
    return value


class TritonHTTPClient:
    def __init__(
        self,
        url="http://localhost:8000",
        timeout=5.0,
        validate_certs=True,
        ca_path=None,
        client_cert=None,
        client_key=None,
        headers=None,
        deadline=None,
    ):
        """timeout: seconds one request may take, its whole answer included. deadline: time.monotonic() after which
        no request is made or waited for (None: no such bound)."""
        self.url = url.rstrip("/")
        self.shown_url = redact_url(self.url)
        self._passwords = url_password(self.url)
        self.timeout = timeout
        self.deadline = deadline
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.client_cert = client_cert
        self.client_key = client_key
        self.headers = dict(headers or {})

    def _redact(self, text):
        for password in self._passwords:
            text = text.replace(password, MASK)
        return text

    def request(self, method, path, body=None):
        """Return a Response for any HTTP status; raise TritonUnreachable when no whole HTTP answer came in time."""
        what = "%s %s%s" % (method, self.shown_url, path)
        # A caller's NaN, infinite or huge timeout would raise from the socket or the thread (or never end).
        if not 0 < self.timeout <= MAX_TIMEOUT:
            raise TritonUnreachable(
                "%s: not asked, timeout %r is not seconds above 0 up to %d" % (what, self.timeout, MAX_TIMEOUT)
            )
        budget = self.timeout
        if self.deadline is not None:
            budget = min(budget, self.deadline - time.monotonic())
            if budget <= 0:
                raise TritonUnreachable("%s: not asked, no time left" % what)
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        kwargs = dict(
            method=method,
            data=data,
            headers=headers,
            timeout=budget,
            validate_certs=self.validate_certs,
            client_cert=self.client_cert,
            client_key=self.client_key,
            follow_redirects="none",
            use_proxy=True,
        )
        if self.ca_path:
            kwargs["ca_path"] = self.ca_path
        outcome = _within(budget, _exchange, self.url + path, kwargs, time.monotonic() + budget)
        if outcome is None:
            raise TritonUnreachable("%s: no whole answer within %ss" % (what, round(budget, 3)))
        status, payload = outcome
        if status is None:
            raise TritonUnreachable("%s: %s" % (what, self._redact(payload)))
        return Response(status, payload)

    # -- endpoints ----------------------------------------------------------------------------------------------
    def live(self):
        return self.request("GET", "/v2/health/live").status == 200

    def ready(self):
        return self.request("GET", "/v2/health/ready").status == 200

    def metadata(self):
        """{version: str or None, extensions: [str]}, whatever the server answered."""
        resp = self.request("GET", "/v2")
        data = resp.json() if resp.status == 200 else None
        if not isinstance(data, dict):
            data = {}
        extensions = data.get("extensions")
        return {
            "version": _text(data.get("version")),
            "extensions": [e for e in extensions if isinstance(e, string_types)]
            if isinstance(extensions, list)
            else [],
        }

    def repository_index(self):
        """The repository index (list of {name, version?, state?, reason?}, all strings); None when the API is not
        available. Entries that are not objects with a name are not Triton's and are left out."""
        resp = self.request("POST", "/v2/repository/index", body={})
        if resp.status != 200:
            return None
        data = resp.json()
        if not isinstance(data, list):
            return None
        index = []
        for item in data:
            if not isinstance(item, dict) or not isinstance(item.get("name"), string_types) or not item["name"]:
                continue
            entry = {"name": item["name"]}
            for key in ("version", "state", "reason"):
                value = _text(item.get(key))
                if value is not None:
                    entry[key] = value
            index.append(entry)
        return index

    def model_ready(self, name, version=None):
        path = "/v2/models/%s" % quote(name, safe="")
        if version is not None:
            path += "/versions/%s" % quote(str(version), safe="")
        return self.request("GET", path + "/ready").status == 200

    def load(self, name):
        return self.request("POST", "/v2/repository/models/%s/load" % quote(name, safe=""), body={})

    def unload(self, name, unload_dependents=False):
        body = {"parameters": {"unload_dependents": bool(unload_dependents)}}
        return self.request("POST", "/v2/repository/models/%s/unload" % quote(name, safe=""), body=body)


def _text(value):
    """A scalar of the server's answer as text; None for anything else (Triton sends strings, an integer version)."""
    if isinstance(value, string_types):
        return value
    if isinstance(value, integer_types) and not isinstance(value, bool):
        return str(value)
    return None


def _entries_by_name(index):
    out = {}
    for entry in index or []:
        name = entry.get("name")
        if name is None:
            continue
        out.setdefault(name, []).append(entry)
    return out


def assess(client, expected):
    """One look at the server. `expected` is {model: [versions] or None}.

    Returns a dict with live, ready, version, extensions, models (index), models_ready, missing, unavailable."""
    result = {
        "live": False,
        "ready": False,
        "version": None,
        "extensions": [],
        "models": [],
        "models_ready": False,
        "missing": [],
        "unavailable": [],
    }
    try:
        result["live"] = client.live()
    except TritonUnreachable as exc:
        return _unreachable(result, exc, expected)
    try:
        result["ready"] = client.ready()
        meta = client.metadata()
        result["version"] = meta["version"]
        result["extensions"] = meta["extensions"]
        index = client.repository_index()
        result["models"] = index if index is not None else []
        by_name = _entries_by_name(index)
        missing = []
        unavailable = []
        for name in sorted(expected):
            versions = expected[name]
            entries = by_name.get(name, [])
            # An entry without state: the config failed to parse; Triton knows the directory, not the model.
            stated = [e for e in entries if e.get("state")]
            if not stated:
                if not entries and client.model_ready(name):
                    continue  # the repository API is restricted, disabled or filtered, and the model answers ready
                reason = (
                    "not in the repository index"
                    if not entries
                    else ("listed without a state: the model's configuration could not be loaded (see the server log)")
                )
                missing.append({"name": name, "reason": reason})
                continue
            want = versions if versions else [None]
            for version in want:
                if version is not None:
                    match = [e for e in stated if str(e.get("version")) == str(version)]
                    if not match:
                        missing.append({"name": name, "version": str(version), "reason": "version not in the index"})
                        continue
                    entry = match[0]
                else:
                    ready_entries = [e for e in stated if e.get("state") == "READY"]
                    entry = ready_entries[0] if ready_entries else stated[0]
                if entry.get("state") == "READY" and client.model_ready(name, version):
                    continue
                unavailable.append(
                    {
                        "name": name,
                        "version": None if entry.get("version") is None else str(entry.get("version")),
                        "state": entry.get("state"),
                        "reason": entry.get("reason") or "",
                    }
                )
        result["missing"] = missing
        result["unavailable"] = unavailable
        result["models_ready"] = result["live"] and result["ready"] and not missing and not unavailable
    except TritonUnreachable as exc:
        return _unreachable(result, exc, expected)
    return result


def _unreachable(result, exc, expected):
    # missing keeps its documented shape ({name, reason}) when the server stopped answering.
    result["unreachable"] = str(exc)
    result["live"] = False
    result["models_ready"] = False
    result["missing"] = [{"name": name, "reason": "the server did not answer"} for name in sorted(expected)]
    result["unavailable"] = []
    return result


def satisfied(result, wait_for):
    if wait_for == "live":
        return result["live"]
    if wait_for == "ready":
        return result["live"] and result["ready"]
    if wait_for == "models_ready":
        return result["live"] and result["models_ready"]
    return True


def wait(client, expected, wait_for="none", timeout=60.0, interval=1.0, clock=time.monotonic, sleep=time.sleep):
    """Poll until `wait_for` holds or `timeout` passes. Returns (result, satisfied, elapsed)."""
    start = clock()
    while True:
        result = assess(client, expected)
        elapsed = clock() - start
        ok = satisfied(result, wait_for)
        if ok or wait_for == "none" or elapsed >= timeout:
            return result, ok, round(elapsed, 3)
        # Settled failures do not go away by waiting: UNAVAILABLE models and unparsable configs stay so.
        if wait_for == "models_ready" and result["live"] and _settled_failure(result):
            return result, False, round(elapsed, 3)
        sleep(max(0.0, min(interval, timeout - elapsed)))


def _settled_failure(result):
    loading = [m for m in result["models"] if m.get("state") in ("LOADING", "UNLOADING")]
    if loading or not (result["missing"] or result["unavailable"]):
        return False
    # A model absent from the index may still appear (poll or explicit mode); one listed without a state or
    # UNAVAILABLE with a reason has been judged by Triton already.
    return all(m.get("reason", "").startswith("listed without") for m in result["missing"])


def describe_failure(result, wait_for, timeout, url):
    parts = []
    if not result["live"]:
        detail = result.get("unreachable") or "live endpoint did not answer 200"
        return "Triton at %s is not live after %ss: %s" % (url, timeout, detail)
    if wait_for in ("ready", "models_ready") and not result["ready"]:
        parts.append("server not ready (/v2/health/ready is not 200)")
    for m in result["missing"]:
        label = m["name"] + (" version %s" % m["version"] if m.get("version") else "")
        parts.append("model '%s' missing: %s" % (label, m["reason"]))
    for m in result["unavailable"]:
        label = m["name"] + (" version %s" % m["version"] if m.get("version") else "")
        parts.append("model '%s' %s: %s" % (label, m.get("state") or "not ready", m.get("reason") or "no reason given"))
    return "Triton at %s not %s: %s" % (url, wait_for.replace("_", " "), "; ".join(parts) or "unknown")
