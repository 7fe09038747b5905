"""Running a role's task file with real ansible-playbook over inventory hosts that are cases (local connection)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def role_play(role, tasks_from, times=1, then=""):
    """A play that includes the role's task file `times` times, then the tasks in `then` (YAML, indented 4)."""
    include = f"    - ansible.builtin.include_role:\n        name: {role}\n        tasks_from: {tasks_from}\n"
    return f"- hosts: all\n  gather_facts: false\n  tasks:\n{include * times}{then}"


def run_cases(ansible_bin, tmp, play, hosts, *args):
    """ansible-playbook `play` over `hosts` ({case: hostvars}, each run locally): its ansible.posix.json report."""
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    (tmp / "hosts.yml").write_text(json.dumps({"all": {"hosts": {h: {**local, **v} for h, v in hosts.items()}}}))
    (tmp / "play.yml").write_text(play)
    cmd = [str(Path(ansible_bin).with_name("ansible-playbook")), str(tmp / "play.yml"), "-i", str(tmp / "hosts.yml")]
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    proc = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=300, env=env, check=False)
    return json.loads(proc.stdout[proc.stdout.index("{") :])
