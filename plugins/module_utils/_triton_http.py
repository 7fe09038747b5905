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
import time

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import quote
from ansible.module_utils.urls import open_url

try:
    from http.client import HTTPException
except ImportError:  # pragma: no cover - Python 2
    from httplib import HTTPException  # type: ignore


class TritonUnreachable(Exception):
    """Nothing answered (connection refused/reset, DNS, TLS or timeout)."""


class Response:
    def __init__(self, status, body):
        self.status = status
        self.body = body

    def json(self):
        if not self.body:
            return None
        try:
            return json.loads(self.body.decode("utf-8") if isinstance(self.body, bytes) else self.body)
        except ValueError:
            return None

    def error_text(self):
        data = self.json()
        if isinstance(data, dict) and data.get("error"):
            return data["error"]
        if isinstance(self.body, bytes):
            return self.body.decode("utf-8", "replace").strip()
        return (self.body or "").strip()


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
    ):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.client_cert = client_cert
        self.client_key = client_key
        self.headers = dict(headers or {})

    def request(self, method, path, body=None):
        """Return a Response for any HTTP status; raise TritonUnreachable when no HTTP answer came."""
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        kwargs = dict(
            method=method,
            data=data,
            headers=headers,
            timeout=self.timeout,
            validate_certs=self.validate_certs,
            client_cert=self.client_cert,
            client_key=self.client_key,
            follow_redirects="none",
            use_proxy=True,
        )
        if self.ca_path:
            kwargs["ca_path"] = self.ca_path
        try:
            resp = open_url(self.url + path, **kwargs)
            try:
                return Response(resp.getcode(), resp.read())
            finally:
                resp.close()
        except HTTPError as exc:
            try:
                payload = exc.read()
            except Exception:
                payload = b""
            return Response(exc.code, payload)
        except (URLError, socket.error, socket.timeout, HTTPException, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TritonUnreachable("%s %s%s: %s" % (method, self.url, path, reason)) from exc
        except Exception as exc:  # ssl errors and the like surface as varied types
            raise TritonUnreachable("%s %s%s: %s" % (method, self.url, path, exc)) from exc

    # -- endpoints ----------------------------------------------------------------------------------------------
    def live(self):
        return self.request("GET", "/v2/health/live").status == 200

    def ready(self):
        return self.request("GET", "/v2/health/ready").status == 200

    def metadata(self):
        resp = self.request("GET", "/v2")
        return resp.json() if resp.status == 200 else None

    def repository_index(self):
        """The repository index (list of {name, version?, state?, reason?}); None when the API is not available."""
        resp = self.request("POST", "/v2/repository/index", body={})
        if resp.status != 200:
            return None
        data = resp.json()
        return data if isinstance(data, list) else None

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
        result["unreachable"] = str(exc)
        result["missing"] = sorted(expected)
        return result
    try:
        result["ready"] = client.ready()
        meta = client.metadata() or {}
        result["version"] = meta.get("version")
        result["extensions"] = meta.get("extensions") or []
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
        result["models_ready"] = result["ready"] and not missing and not unavailable
    except TritonUnreachable as exc:
        result["unreachable"] = str(exc)
        result["live"] = False
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
