"""image_cache's reason for a failed tarball check (`__image_cache_check_failure` in vars/main.yml), rendered by a
real ansible-playbook: the check's own verdict when it printed one, else what the command or its connection said."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

VARS = Path(__file__).resolve().parents[3] / "roles" / "image_cache" / "vars" / "main.yml"

CASES = {
    # The check ran and judged the file: its JSON verdict.
    "verdict": ({"rc": 1, "stdout": '{"msg": "sha256 of /x.tar is 00ff, not aa11", "size": 3}\n', "stderr": ""},
                "sha256 of /x.tar is 00ff, not aa11"),
    # The node has no python3: the shell says so on stderr, stdout is empty.
    "no python3": ({"rc": 127, "stdout": "", "stderr": "/bin/sh: 1: python3: not found\n"},
                   "/bin/sh: 1: python3: not found"),
    # A traceback or a message on stdout that is not the check's JSON.
    "not JSON": ({"rc": 1, "stdout": "Traceback (most recent call last): boom\n", "stderr": ""},
                 "Traceback (most recent call last): boom"),
    # The module itself failed (the script could not be sent): no stdout, no stderr, no rc.
    "module failure": ({"failed": True, "msg": "failed to transfer file to /tmp/x: No space left"},
                       "failed to transfer file to /tmp/x: No space left"),
    "nothing said": ({"failed": True}, "no reason given"),
}  # fmt: skip


@pytest.fixture(scope="module")
def rendered(ansible_bin, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("check_failure")
    tasks = "".join(
        f"    - name: {name}\n      vars:\n        __check: {json.dumps(result)}\n"
        "      ansible.builtin.debug:\n        msg: '{{ __image_cache_check_failure }}'\n"
        for name, (result, _) in CASES.items()
    )
    (tmp / "play.yml").write_text(
        f"- hosts: localhost\n  gather_facts: false\n  vars_files: ['{VARS}']\n  tasks:\n{tasks}"
    )
    cmd = [str(Path(ansible_bin).with_name("ansible-playbook")), str(tmp / "play.yml"), "-i", "localhost,",
           "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}"]  # fmt: skip
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads(proc.stdout[proc.stdout.index("{") :])
    return {t["task"]["name"]: t["hosts"]["localhost"]["msg"] for t in report["plays"][0]["tasks"]}


@pytest.mark.parametrize("case", CASES)
def test_the_reason_is_what_the_check_or_the_command_said(rendered, case):
    assert rendered[case] == CASES[case][1]
