"""Run one module the way a play does (action plugin, transfer, module) on this host, for the tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run_adhoc(ansible_bin, module, args, check=False, env=None, extra=None, timeout=120):
    """`ansible localhost -c local -m <module> -a <json>` through the json callback: (rc, the task's result dict).

    <module> is a full name; args a dict (or None for none). The action plugin, the transfer and the module all run,
    as in a play.
    """
    run_env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="true", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    run_env["ANSIBLE_CALLBACK_RESULT_FORMAT"] = "json"
    run_env.update(env or {})
    cmd = [
        ansible_bin,
        "localhost",
        "-c",
        "local",
        "-i",
        "localhost,",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
    ]
    cmd += ["-m", module] + (["-a", json.dumps(args)] if args is not None else []) + (["--check"] if check else [])
    cmd += ["-e", json.dumps(extra)] if extra else []
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=run_env, check=False)
    try:
        result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError(f"unexpected ansible output rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}") from None
    return proc.returncode, result


MODULES = Path(__file__).resolve().parents[1] / "plugins" / "modules"


def run_module_file(name, args, timeout=60):
    """plugins/modules/<name>.py alone, as Ansible runs it (arguments on stdin): its result dict."""
    env = dict(os.environ, PYTHONPATH=os.environ["ANSIBLE_COLLECTIONS_PATH"])
    proc = subprocess.run(
        [sys.executable, str(MODULES / f"{name}.py")], input=json.dumps({"ANSIBLE_MODULE_ARGS": args}),
        capture_output=True, text=True, timeout=timeout, env=env, check=False,
    )  # fmt: skip
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout)
