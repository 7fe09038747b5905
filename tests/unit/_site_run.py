"""Running a rolling playbook (site.yml, upgrade_triton.yml) on this host in check mode, no role run, and reading which
plays ran where and why a run stopped, from its ansible.posix.json report."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"


def run_rolling(ansible_bin, tmp_path, inventory, playbook, skip_tags, *args):
    """`playbook` over `inventory` (a dict, written as hosts.yml), one node per batch, every node sent through the
    rollout; site.yml runs no role (--tags never), another playbook skips `skip_tags`:
    (rc, the JSON report or None, the text output)."""
    (tmp_path / "hosts.yml").write_text(json.dumps(inventory))
    no_roles = ["--tags", "never"] if playbook == "site.yml" else ["--skip-tags", skip_tags]
    cmd = [str(Path(ansible_bin).with_name("ansible-playbook")), str(PLAYBOOKS / playbook),
           "-i", str(tmp_path / "hosts.yml"), "--check", *no_roles,
           "-e", "site_skip_converged=false", "-e", "triton_rollout_serial=1", *args]  # fmt: skip
    env = dict(os.environ, ANSIBLE_NOCOLOR="true", ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env, check=False)
    report = json.loads(proc.stdout[proc.stdout.index("{") :]) if "{" in proc.stdout else None
    return proc.returncode, report, proc.stdout + proc.stderr


def plays(report):
    """[(play name, sorted hosts that ran a task in it, [messages])] in the order they ran (one per batch)."""
    return [
        (
            p["play"]["name"],
            sorted({h for t in p["tasks"] for h in t["hosts"]}),
            [r["msg"] for t in p["tasks"] for r in t["hosts"].values() if "msg" in r and not r.get("skipped")],
        )
        for p in report["plays"]
    ]


def failure(report):
    """The message of the run's failure (one check, run once for the play)."""
    (msg,) = [r["msg"] for p in report["plays"] for t in p["tasks"] for r in t["hosts"].values() if r.get("failed")]
    return msg
