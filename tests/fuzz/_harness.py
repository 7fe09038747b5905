"""Run a module's main() in this process on generated arguments, and the checks every module owes its inputs.

In process because a whole `ansible-playbook` per generated example is far too slow (ansible-core's own
`patch_module_args` hands the arguments to AnsibleModule, as its docs say for unit tests). A run ends within `timeout`
seconds or fails the test as a hang (SIGALRM, so: the main thread only). What the module printed is its result; an
exception that escapes main() is a traceback, which a module must never give for any input.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import hypothesis
from ansible.module_utils.testing import patch_module_args


class Hang(Exception):
    """The module ran past the time allowed."""


@dataclass
class ModuleRun:
    result: dict | None
    stdout: str
    stderr: str
    seconds: float
    error: str | None = None  # an exception that escaped main(), formatted

    @property
    def failed(self) -> bool:
        return bool(self.result and self.result.get("failed"))

    @property
    def msg(self) -> str:
        return str((self.result or {}).get("msg", ""))


def run_module(main, args: dict, *, check_mode: bool = False, diff: bool = False, timeout: float = 30.0) -> ModuleRun:
    """main() of a module on args; its parsed result. Fails the calling test (AssertionError) on a traceback, a run
    past `timeout` seconds, or output that is not one JSON object."""
    args = dict(args)
    try:
        json.dumps(args, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (os.fsdecode of a name that is not UTF-8) cannot reach a module: Ansible sends a module its
        # arguments as UTF-8 JSON and refuses such a string before the module runs. Not an input a module can get.
        hypothesis.reject()
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    out, err = io.StringIO(), io.StringIO()

    def alarm(signum, frame):
        raise Hang(f"no result within {timeout} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    start, error = time.monotonic(), None
    try:
        with patch_module_args(args), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit:
        pass
    except Hang as exc:
        error = f"hang: {exc}"
    except BaseException as exc:  # any escape is the finding
        error = "".join(traceback.format_exception(exc))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    seconds = time.monotonic() - start
    stdout, stderr = out.getvalue(), err.getvalue()
    assert error is None, f"{error}\nargs: {args!r}\nstdout: {stdout[-2000:]}\nstderr: {stderr[-2000:]}"
    assert "Traceback (most recent call last)" not in stdout + stderr, f"traceback for {args!r}:\n{stdout}\n{stderr}"
    try:
        result = json.loads(stdout)
    except ValueError:
        raise AssertionError(f"no JSON result for {args!r}: {stdout[-2000:]!r} {stderr[-2000:]!r}") from None
    assert isinstance(result, dict), f"result is not an object: {stdout[-2000:]!r}"
    return ModuleRun(result, stdout, stderr, seconds)


def assert_no_secret(run: ModuleRun, *secrets: str) -> None:
    """None of the secrets (each as given, and each line of it) appears in what the module printed."""
    text = run.stdout + run.stderr
    for secret in secrets:
        for piece in {secret, *secret.splitlines()}:
            if len(piece.strip()) >= 4:  # masking a 1-3 character value would hide every such substring of the output
                assert piece not in text, f"secret {piece!r} printed: {text[-2000:]}"


@dataclass(frozen=True)
class Snapshot:
    """Every entry under a folder: its kind, mode, and for files the bytes (symbolic links are not followed)."""

    entries: dict = field(default_factory=dict)

    @classmethod
    def of(cls, root: Path) -> Snapshot:
        entries = {}
        for folder, dirs, files in os.walk(root):
            for name in dirs + files:
                path = Path(folder, name)
                st = path.lstat()
                kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file" if path.is_file() else "node"
                content = os.readlink(path) if kind == "link" else path.read_bytes() if kind == "file" else None
                entries[str(path.relative_to(root))] = (kind, st.st_mode & 0o7777, content)
        return cls(entries)

    def diff(self, other: Snapshot) -> list:
        """What differs between two snapshots: paths added, removed or changed."""
        keys = set(self.entries) | set(other.entries)
        return sorted(k for k in keys if self.entries.get(k) != other.entries.get(k))
