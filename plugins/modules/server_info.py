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
    description: Base URL of Triton's HTTP endpoint (or of a proxy in front of it).
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
    description: Seconds to wait for O(wait_for) before failing.
    type: float
    default: 120
  interval:
    description: Seconds between two looks while waiting.
    type: float
    default: 2
  request_timeout:
    description: Seconds one HTTP request may take.
    type: float
    default: 5
  models:
    description:
      - Models expected to be served. Each item is a name, C(name:version) or C(name:v1,v2) (or a dict with C(name)
        and C(versions)).
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
    description: PEM file of the CA that signed the server (or proxy) certificate.
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

import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.six import string_types
from ansible_collections.gpufleet.triton.plugins.module_utils._triton_http import (
    TritonHTTPClient,
    describe_failure,
    wait,
)


def parse_expected(items):
    """models option -> {name: [versions] or None}."""
    expected = {}
    for item in items or []:
        if isinstance(item, dict):
            name = item.get("name")
            versions = item.get("versions")
            if versions is not None and not isinstance(versions, list):
                versions = [versions]
        elif isinstance(item, string_types):
            name, sep, rest = item.partition(":")
            versions = [v.strip() for v in rest.split(",") if v.strip()] if sep else None
        else:
            raise ValueError("models: each item must be a name, 'name:versions' or a dict, got %r" % (item,))
        if not name:
            raise ValueError("models: an item has no name: %r" % (item,))
        name = str(name).strip()
        versions = [str(v) for v in versions] if versions else None
        if name in expected and expected[name] and versions:
            expected[name] = sorted(set(expected[name]) | set(versions))
        else:
            expected[name] = versions
    return expected


class ServerInfo:
    def __init__(self, module):
        self.module = module
        self.params = module.params

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
        expected = self.expected_models()
        client = TritonHTTPClient(
            url=p["url"],
            timeout=p["request_timeout"],
            validate_certs=p["validate_certs"],
            ca_path=p["ca_path"],
            client_cert=p["client_cert"],
            client_key=p["client_key"],
            headers=p["headers"],
        )
        result, ok, elapsed = wait(
            client, expected, wait_for=p["wait_for"], timeout=p["timeout"], interval=p["interval"], sleep=time.sleep
        )
        message = None if ok else describe_failure(result, p["wait_for"], p["timeout"], p["url"])
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
            url=dict(type="str", default="http://localhost:8000"),
            wait_for=dict(type="str", default="none", choices=["none", "live", "ready", "models_ready"]),
            timeout=dict(type="float", default=120),
            interval=dict(type="float", default=2),
            request_timeout=dict(type="float", default=5),
            models=dict(type="list", elements="raw", default=[]),
            repository=dict(type="path"),
            validate_certs=dict(type="bool", default=True),
            ca_path=dict(type="path"),
            client_cert=dict(type="path"),
            client_key=dict(type="path", no_log=False),
            headers=dict(type="dict", default={}, no_log=True),
            fail_on_error=dict(type="bool", default=True),
        ),
        required_together=[["client_cert", "client_key"]],
        supports_check_mode=True,
    )
    ServerInfo(module).run()


if __name__ == "__main__":
    main()
