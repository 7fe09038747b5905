#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: server_info
short_description: Health-check a Triton Inference Server and the models it serves
version_added: 0.1.0
description:
  - Asks a Triton server over HTTP whether it is live and ready, reads its metadata and repository index, and compares
    the models it serves with the models expected (O(models), or those derived from O(repository)).
  - Optionally waits (O(wait_for)) until the server is live, ready, or serves every expected model.
  - C(/v2/health/ready) stays 200 when a model's configuration fails to parse (the model is simply absent), so a
    deployment check must use O(wait_for=models_ready) with the expected models; each is looked up in
    C(POST /v2/repository/index) and C(/v2/models/<name>/ready).
  - Uses only ansible-core's C(open_url); runs on any node with Python. Read-only.
author:
  - gpufleet.triton maintainers (@gpufleet)
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs unchanged in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
options:
  url:
    description:
      - Base URL of Triton's HTTP endpoint (or of a proxy in front of it), C(http://) or C(https://), with no query or
        fragment.
      - A password in it (C(http://user:password@host)) is not logged; a C(@) or C(:) inside the user name or the
        password must be percent-encoded.
    type: str
    default: http://localhost:8000
  wait_for:
    description:
      - V(none) looks once. V(live) waits for C(/v2/health/live), V(ready) for C(/v2/health/ready), V(models_ready)
        for readiness plus every expected model READY.
      - With V(models_ready) the wait ends early when Triton has already judged a model (UNAVAILABLE with a reason,
        or listed without a state because its configuration failed to parse), since waiting longer would not change it.
    type: str
    choices: [none, live, ready, models_ready]
    default: none
  timeout:
    description:
      - Seconds to wait for O(wait_for) before failing, a number from 0 (one look) to 86400.
      - The module returns within O(timeout) plus O(request_timeout).
    type: raw
    default: 120
  interval:
    description: Seconds between two looks while waiting, a number from 0.01 to 3600.
    type: raw
    default: 2
  request_timeout:
    description: Seconds one HTTP request may take, its whole answer included, a number above 0 and up to 3600.
    type: raw
    default: 5
  models:
    description:
      - Models expected to be served. Each item is a name, C(name:version) or C(name:v1,v2) (or a dict with C(name)
        and C(versions)). A version is a whole number, as Triton's version folders are named.
      - A model listed more than once is expected in every version listed.
      - A missing model fails the task with O(wait_for=models_ready) and is listed in RV(missing) otherwise.
    type: list
    elements: raw
    default: []
  repository:
    description:
      - Path of the model repository (on the node where the module runs) Triton was started with; every model in it
        and the versions its C(version_policy) serves are expected, as M(gpufleet.triton.model_repository_info)
        derives them.
    type: path
  validate_certs:
    description: Verify the server's TLS certificate.
    type: bool
    default: true
  ca_path:
    description: PEM file of the CA that signed the server (or proxy) certificate; it must be a readable file.
    type: path
  client_cert:
    description: PEM client certificate for mutual TLS.
    type: path
  client_key:
    description: PEM private key of O(client_cert).
    type: path
  headers:
    description:
      - Extra HTTP headers for every request, for a proxy's authentication or Triton's restricted APIs
        (C(--http-restricted-api)). Values are not logged.
      - A value is one line of text (or a number); a line break in it, such as the trailing newline of a YAML block
        scalar, fails the task before any request.
    type: dict
    default: {}
  fail_on_error:
    description: Fail the task when O(wait_for) is not met. With V(false) the result tells what was seen.
    type: bool
    default: true
notes:
  - The repository index needs Triton's C(model_repository) extension (on by default); when it is restricted, pass
    its header in O(headers).
seealso:
  - module: gpufleet.triton.model_repository_info
"""

EXAMPLES = r"""
- name: Wait until Triton serves every model of the repository it was started with
  gpufleet.triton.server_info:
    url: http://127.0.0.1:8000
    repository: /srv/triton/models
    wait_for: models_ready
    timeout: 300

- name: Check two models (version 2 of one) through a TLS proxy
  gpufleet.triton.server_info:
    url: https://triton.example.com
    ca_path: /etc/ssl/certs/internal-ca.pem
    headers:
      Authorization: "Bearer {{ triton_token }}"
    models:
      - densenet_onnx
      - name: add_sub
        versions: [2]
    wait_for: models_ready

- name: Is it live at all?
  gpufleet.triton.server_info:
    wait_for: live
    timeout: 30
  register: triton
"""

RETURN = r"""
live:
  description: Whether C(/v2/health/live) answered 200.
  returned: always
  type: bool
ready:
  description: Whether C(/v2/health/ready) answered 200 (not proof that every model is served).
  returned: always
  type: bool
version:
  description: Server version from C(GET /v2).
  returned: always
  type: str
  sample: 2.51.0
extensions:
  description: Protocol extensions the server reports.
  returned: always
  type: list
  elements: str
models:
  description: The repository index (C(name), C(version), C(state), C(reason)); an entry without C(state) is a model
    whose configuration Triton could not load.
  returned: always
  type: list
  elements: dict
  sample: [{name: add_sub, version: "1", state: READY}, {name: bad}]
models_ready:
  description: Whether the server is ready and every expected model is READY.
  returned: always
  type: bool
expected:
  description: The expected models and versions (null = whatever the server serves).
  returned: always
  type: dict
missing:
  description: Expected models (or versions) not in the index, or listed without a state; each with C(name) and
    C(reason) (and C(version)).
  returned: always
  type: list
  elements: dict
unavailable:
  description: Expected models in the index but not READY, with C(name), C(version), C(state) and Triton's C(reason).
  returned: always
  type: list
  elements: dict
  sample:
    - name: bad
      version: "1"
      state: UNAVAILABLE
      reason: "Internal: SyntaxError: invalid syntax (model.py, line 6)"
elapsed:
  description: Seconds spent, waiting included.
  returned: always
  type: float
"""

import math
import os
import re
import stat
import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.six import integer_types, string_types
from ansible.module_utils.six.moves.urllib.parse import urlsplit
from ansible_collections.gpufleet.triton.plugins.module_utils._triton_http import (
    TritonHTTPClient,
    describe_failure,
    url_password,
    wait,
)

# option: (default, lowest, highest, whether the lowest itself is allowed). A NaN never ends a wait, and an infinite
# or huge one overflows the socket and thread timeouts.
SECONDS = {
    "timeout": (120, 0.0, 86400.0, True),
    "interval": (2, 0.01, 3600.0, True),
    "request_timeout": (5, 0.0, 3600.0, False),
}
DEFAULTS = {
    "url": "http://localhost:8000",
    "wait_for": "none",
    "models": [],
    "validate_certs": True,
    "headers": {},
    "fail_on_error": True,
}
_VERSION = re.compile(r"[0-9]{1,19}")  # ASCII digits (str.isdigit() takes other scripts' too), within Triton's int64
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token
_SCALARS = (float, *string_types, *integer_types)
_URL_FORM = "http(s)://[user[:password]@]host[:port][/path]"


def _type_name(value):
    return "a boolean" if isinstance(value, bool) else "null" if value is None else "a %s" % type(value).__name__


def check_seconds(name, value):
    """(seconds, problem): the option as a float, or why it is not one in its range."""
    default, low, high, low_allowed = SECONDS[name]
    if value is None:
        return float(default), None
    expected = "expected a number of seconds from %s%g to %g" % ("" if low_allowed else "above ", low, high)
    if isinstance(value, bool) or not isinstance(value, _SCALARS):
        return None, "%s: %s, got %s" % (name, expected, _type_name(value))
    try:
        number = float(value)
    except ValueError:
        return None, "%s: %s, got %r" % (name, expected, value[:40])
    except OverflowError:  # an integer beyond a float (and its repr may be beyond Python's digit limit)
        return None, "%s: %s, got an integer of %d bits" % (name, expected, value.bit_length())
    if not math.isfinite(number) or number < low or number > high or (number == low and not low_allowed):
        return None, "%s: %s, got %s" % (name, expected, number)
    return number, None


def check_url(url):
    """Why url is not a base URL the module can ask (the password never shown), or None."""
    if not url or any(ord(c) <= 0x20 or ord(c) >= 0x7F for c in url):
        return "url: expected %s in ASCII without spaces or control characters (percent-encode the others)" % _URL_FORM
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check: a port that is not a number raises
    except ValueError:
        return "url: expected %s, with a port from 0 to 65535" % _URL_FORM
    if parts.scheme not in ("http", "https"):
        return "url: expected %s, got the scheme %r" % (_URL_FORM, parts.scheme)
    if not parts.hostname:
        return "url: expected %s, got no host" % _URL_FORM
    if parts.netloc.count("@") > 1:
        return "url: a '@' in the user name or password must be written %40"
    if "?" in url or "#" in url:
        return "url: expected %s, without a query or fragment" % _URL_FORM
    return None


def check_headers(headers):
    """({name: str value}, problem). Values are secrets: a problem names the header, never its value."""
    out = {}
    for name, value in headers.items():
        if not isinstance(name, string_types) or not _HEADER_NAME.fullmatch(name):
            return None, "headers: %r is not a header name; expected letters, digits and !#$%%&'*+-.^_`|~" % (name,)
        what = "headers: the value of %s" % name
        if isinstance(value, bool) or not isinstance(value, _SCALARS):
            return None, "%s is %s; expected a string" % (what, _type_name(value))
        if isinstance(value, float) and not math.isfinite(value):
            return None, "%s is not a finite number; expected a string" % what
        text = value if isinstance(value, string_types) else str(value)
        if "\r" in text or "\n" in text:
            return None, (
                "%s has a line break (CR or LF), which HTTP does not allow; expected one line (remove the trailing "
                "newline of a YAML block scalar or of a file, for example with the trim filter)" % what
            )
        if any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in text):
            return None, "%s has a control character; expected printable text" % what
        try:
            text.encode("latin-1")
        except UnicodeEncodeError:
            return None, "%s has characters HTTP cannot send; expected ISO-8859-1 text (encode the others)" % what
        out[name] = text
    return out, None


def check_file(name, path):
    """Why the PEM file option `name` cannot be used, or None. A FIFO or a device would block or never end a read."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError) as exc:
        return "%s %s: cannot be read (%s); expected a PEM file" % (name, path, getattr(exc, "strerror", None) or exc)
    if not stat.S_ISREG(mode):
        return "%s %s: not a regular file; expected a PEM file" % (name, path)
    if not os.access(path, os.R_OK):
        return "%s %s: not readable by this user; expected a PEM file" % (name, path)
    return None


def _model_name(value, where):
    if isinstance(value, bool) or not isinstance(value, string_types + integer_types):
        raise ValueError("%s: expected a model name (a string), got %s" % (where, _type_name(value)))
    name = str(value).strip()
    if not name:
        raise ValueError("%s: the model name is empty; expected a model folder name" % where)
    if "/" in name or "\x00" in name or name in (".", ".."):
        raise ValueError("%s: %r is not a model folder name; expected no '/' or NUL, not '.' or '..'" % (where, name))
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("%s: the model name is not valid Unicode; expected UTF-8 text" % where) from None
    return name


def _model_version(value, where):
    if isinstance(value, bool) or not isinstance(value, string_types + integer_types):
        raise ValueError("%s: expected a version number, got %s" % (where, _type_name(value)))
    text = str(value).strip()
    if not _VERSION.fullmatch(text):
        raise ValueError(
            "%s: expected a version number (a whole number as Triton's version folders), got %r" % (where, text[:40])
        )
    return str(int(text))


def parse_expected(items):
    """models option -> {name: [versions] or None}; ValueError naming the item when one is not a model."""
    expected = {}
    for position, item in enumerate(items or []):
        where = "models[%d]" % position
        if isinstance(item, dict):
            unknown = sorted(str(key) for key in item if key not in ("name", "versions"))
            if unknown:
                raise ValueError("%s: unknown key %s; expected name and versions" % (where, ", ".join(unknown)))
            name = _model_name(item.get("name"), where)
            versions = item.get("versions")
            if versions is not None and not isinstance(versions, list):
                versions = [versions]
        elif isinstance(item, string_types) or (isinstance(item, integer_types) and not isinstance(item, bool)):
            name, sep, rest = str(item).partition(":")
            name = _model_name(name, where)
            versions = [v for v in rest.split(",") if v.strip()] if sep else None
        else:
            raise ValueError("%s: expected a name, 'name:versions' or a dict, got %s" % (where, _type_name(item)))
        versions = sorted(set(_model_version(v, where) for v in versions), key=int) if versions else None
        # Listed twice: every version either item asks for; a plain name asks for no version in particular.
        if expected.get(name) and versions:
            versions = sorted(set(expected[name]) | set(versions), key=int)
        expected[name] = versions or expected.get(name)
    return expected


class ServerInfo:
    def __init__(self, module):
        self.module = module
        self.params = module.params

    def check(self):
        """Every option checked and normalized before the module asks anything."""
        p = self.params
        # null is "not given": a null validate_certs must not turn certificate checks off, nor fail_on_error failing.
        for name, default in DEFAULTS.items():
            if p[name] is None:
                p[name] = default
        for name in SECONDS:
            p[name], problem = check_seconds(name, p[name])
            if problem:
                self.module.fail_json(msg=problem)
        problem = check_url(p["url"])
        if problem:
            self.module.fail_json(msg=problem)
        p["headers"], problem = check_headers(p["headers"])
        if problem:
            self.module.fail_json(msg=problem)
        for name in ("ca_path", "client_cert", "client_key"):
            problem = p[name] is not None and check_file(name, p[name])
            if problem:
                self.module.fail_json(msg=problem)

    def expected_models(self):
        p = self.params
        try:
            expected = parse_expected(p["models"])
        except ValueError as exc:
            self.module.fail_json(msg=str(exc))
        if p["repository"]:
            from ansible_collections.gpufleet.triton.plugins.module_utils._model_config import (
                MissingSchemaError,
                validate_repository,
            )

            try:
                repo = validate_repository(p["repository"])
            except MissingSchemaError as exc:
                self.module.fail_json(msg=missing_required_lib(exc.args[0], reason="to read the repository option"))
            if repo["errors"]:
                self.module.fail_json(msg="repository %s: %s" % (p["repository"], repo["errors"][0]["message"]))
            for model in repo["models"]:
                if model["name"] in expected:
                    continue
                served = [str(v) for v in model["served_versions"]]
                expected[model["name"]] = served or None
        return expected

    def run(self):
        p = self.params
        self.check()
        expected = self.expected_models()
        client = TritonHTTPClient(
            url=p["url"],
            timeout=p["request_timeout"],
            validate_certs=p["validate_certs"],
            ca_path=p["ca_path"],
            client_cert=p["client_cert"],
            client_key=p["client_key"],
            headers=p["headers"],
            # The last look starts before timeout; each of its requests ends by this, however slow the server.
            deadline=time.monotonic() + p["timeout"] + p["request_timeout"],
        )
        result, ok, elapsed = wait(
            client, expected, wait_for=p["wait_for"], timeout=p["timeout"], interval=p["interval"], sleep=time.sleep
        )
        message = None if ok else describe_failure(result, p["wait_for"], p["timeout"], client.shown_url)
        result.pop("unreachable", None)
        result["elapsed"] = elapsed
        result["expected"] = expected
        result["changed"] = False
        if not ok and p["fail_on_error"]:
            result["msg"] = message
            self.module.fail_json(**result)
        self.module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            # no_log: a password in the URL stays masked even when another option fails validation (below, a URL
            # without one is shown again: masking it would hide the server in every message).
            url=dict(type="str", default=DEFAULTS["url"], no_log=True),
            wait_for=dict(type="str", default=DEFAULTS["wait_for"], choices=["none", "live", "ready", "models_ready"]),
            # raw, checked by check_seconds: a float option would take true for 1 and "nan" for NaN.
            timeout=dict(type="raw", default=SECONDS["timeout"][0]),
            interval=dict(type="raw", default=SECONDS["interval"][0]),
            request_timeout=dict(type="raw", default=SECONDS["request_timeout"][0]),
            models=dict(type="list", elements="raw", default=DEFAULTS["models"]),
            repository=dict(type="path"),
            validate_certs=dict(type="bool", default=DEFAULTS["validate_certs"]),
            ca_path=dict(type="path"),
            client_cert=dict(type="path"),
            client_key=dict(type="path", no_log=False),
            headers=dict(type="dict", default=DEFAULTS["headers"], no_log=True),
            fail_on_error=dict(type="bool", default=DEFAULTS["fail_on_error"]),
        ),
        required_together=[["client_cert", "client_key"]],
        supports_check_mode=True,
    )
    url = module.params["url"]
    if isinstance(url, string_types) and "@" not in url:
        module.no_log_values.discard(url)  # no user information, so no password: the URL is no secret
    elif isinstance(url, string_types) and not check_url(url):
        module.no_log_values.update(url_password(url))  # messages show the URL with this masked
    for value in (module.params["headers"] or {}).values():
        # A server echoing a header gives it back without the white space around it: mask that form too.
        if isinstance(value, string_types) and value.strip() and value.strip() != value:
            module.no_log_values.add(value.strip())
    ServerInfo(module).run()


if __name__ == "__main__":
    main()
