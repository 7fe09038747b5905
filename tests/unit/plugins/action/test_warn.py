"""gpufleet.triton.warn with real ansible-playbook: the message becomes a task warning, the task neither fails nor
changes anything; arguments it cannot take fail the task naming msg."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "roles"))
from _role_play import run_cases

PLAY = """- hosts: all
  gather_facts: false
  tasks:
    - gpufleet.triton.warn:
        msg: "{{ warn_msg }}"
      ignore_errors: true
"""

CASES = {
    "text": "  node1: the table does not know release 27.01 \n",
    "templated_list": ["a"],
    "empty": "   ",
    "number": 5,
}


@pytest.fixture(scope="module")
def report(ansible_bin, tmp_path_factory):
    hosts = {case: {"warn_msg": value} for case, value in CASES.items()}
    return run_cases(ansible_bin, tmp_path_factory.mktemp("warn"), PLAY, hosts)


def result(report, case):
    return report["plays"][0]["tasks"][0]["hosts"][case]


def test_the_message_becomes_a_warning(report):
    got = result(report, "text")
    assert not got.get("failed") and got["changed"] is False
    assert got["warnings"] == ["node1: the table does not know release 27.01"]
    assert got["msg"] == "node1: the table does not know release 27.01"


@pytest.mark.parametrize(("case", "shown"), [("templated_list", "['a']"), ("empty", "'   '"), ("number", "5")])
def test_anything_but_a_non_empty_string_fails_naming_msg(report, case, shown):
    got = result(report, case)
    assert got.get("failed") and got["msg"] == f"msg must be the warning, a non-empty string, got {shown}"
    assert not got.get("warnings")
