"""triton_server's node lock: files/lock.sh and files/unlock.sh, run by sh as the role runs them."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

FILES = Path(__file__).resolve().parents[3] / "roles" / "triton_server" / "files"


def take(lock: Path, holder: str, stale: int = 0, wait: int = 0) -> subprocess.CompletedProcess:
    argv = ["sh", str(FILES / "lock.sh"), str(lock), holder, str(stale), str(wait)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def release(lock: Path, holder: str) -> subprocess.CompletedProcess:
    argv = ["sh", str(FILES / "unlock.sh"), str(lock), holder]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True)


def held(tmp_path: Path, holder: str, seconds: int = 0) -> Path:
    """A lock taken by `holder` through the script, `seconds` ago."""
    lock = tmp_path / "triton-server.lock"
    assert take(lock, holder).returncode == 0
    then = time.time() - seconds
    os.utime(lock, (then, then))
    return lock


def test_a_free_lock_is_taken_and_names_its_holder(tmp_path):
    lock = tmp_path / "triton-server.lock"
    run = take(lock, "ops@ctl, run started 2026-11-26T12:00:00Z #1")
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    assert lock.read_text() == "ops@ctl, run started 2026-11-26T12:00:00Z #1\n"


def test_a_held_lock_stops_the_second_run_and_says_who_holds_it(tmp_path):
    lock = held(tmp_path, "first #1", 120)
    run = take(lock, "second #2", stale=3600)
    assert run.returncode == 4
    assert run.stdout == ""
    assert run.stderr.startswith(f"lock-held {lock} is held by first #1 for 12")
    assert lock.read_text() == "first #1\n"


def test_a_lock_older_than_stale_is_broken_and_reported(tmp_path):
    lock = held(tmp_path, "dead #1", 7200)
    run = take(lock, "next #2", stale=3600)
    assert (run.returncode, run.stdout) == (0, "")
    assert run.stderr.startswith(f"lock-broken {lock} was held by dead #1 for 720")
    assert lock.read_text() == "next #2\n"


def test_stale_zero_never_breaks_a_lock(tmp_path):
    lock = held(tmp_path, "old #1", 10**7)
    assert take(lock, "next #2", stale=0).returncode == 4
    assert lock.read_text() == "old #1\n"


def test_a_waiting_run_takes_the_lock_once_the_holder_releases_it(tmp_path):
    lock = held(tmp_path, "first #1")
    timer = threading.Timer(2, release, (lock, "first #1"))
    timer.start()
    try:
        run = take(lock, "second #2", wait=30)
    finally:
        timer.join()
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    assert lock.read_text() == "second #2\n"


def test_the_wait_is_bounded(tmp_path):
    lock = held(tmp_path, "first #1")
    run = take(lock, "second #2", wait=5)
    assert run.returncode == 4
    assert "is held by first #1" in run.stderr


def test_release_removes_only_the_runs_own_lock(tmp_path):
    lock = held(tmp_path, "first #1")
    release(lock, "second #2")
    assert lock.read_text() == "first #1\n"
    release(lock, "first #1")
    assert not lock.exists()
    release(lock, "first #1")  # nothing held: nothing to do, no error


def test_a_lock_that_cannot_be_created_is_an_error_not_a_wait(tmp_path):
    run = take(tmp_path / "missing-folder" / "triton-server.lock", "first #1", wait=30)
    assert run.returncode == 5
    assert run.stderr.startswith("lock-error ")
    assert "missing-folder/triton-server.lock" in run.stderr
