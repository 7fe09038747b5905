"""The harness itself: a traceback, a hang and a printed secret each fail, so a fuzz test built on it can fail."""

from __future__ import annotations

import pytest
from _harness import assert_no_secret, run_module
from ansible.module_utils.basic import AnsibleModule


def _echo():
    module = AnsibleModule(argument_spec={"value": {"type": "str"}, "token": {"type": "str", "no_log": True}})
    module.exit_json(changed=False, value=module.params["value"])


def _crash():
    AnsibleModule(argument_spec={})
    raise ValueError("boom")


def _spin():
    AnsibleModule(argument_spec={})
    while True:
        pass


def test_a_result_comes_back():
    run = run_module(_echo, {"value": "x", "token": "s3cret-value"})
    assert run.result["value"] == "x" and not run.failed
    assert_no_secret(run, "s3cret-value")


def test_a_traceback_fails():
    with pytest.raises(AssertionError, match="ValueError: boom"):
        run_module(_crash, {})


def test_a_hang_fails():
    with pytest.raises(AssertionError, match="hang"):
        run_module(_spin, {}, timeout=0.5)


def test_a_printed_secret_fails():
    run = run_module(_echo, {"value": "s3cret-value"})
    with pytest.raises(AssertionError, match="secret"):
        assert_no_secret(run, "s3cret-value")
