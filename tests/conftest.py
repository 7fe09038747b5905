"""Make the checkout importable as ansible_collections.gpufleet.triton, for pytest and for the `ansible` it runs.

A session-scoped symlink tree in a temporary directory (not the Makefile's COLL_ROOT: the tests must not need make).
The tree is built at import time so that test modules can import the collection's module_utils at collection time.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = REPO_ROOT / ".venv" / "bin"


def _build_collection_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="gpufleet-triton-pytest-"))
    ns = root / "ansible_collections" / "gpufleet"
    ns.mkdir(parents=True)
    (ns / "triton").symlink_to(REPO_ROOT)
    return root


COLLECTIONS_ROOT = _build_collection_root()
sys.path.insert(0, str(COLLECTIONS_ROOT))
os.environ["ANSIBLE_COLLECTIONS_PATH"] = str(COLLECTIONS_ROOT)
os.environ.setdefault("ANSIBLE_NOCOLOR", "true")
os.environ.setdefault("ANSIBLE_FORCE_COLOR", "false")
os.environ.setdefault("ANSIBLE_LOCALHOST_WARNING", "false")
os.environ.setdefault("ANSIBLE_INVENTORY_UNPARSED_WARNING", "false")
os.environ.setdefault("ANSIBLE_PYTHON_INTERPRETER", sys.executable)
os.environ.setdefault("ANSIBLE_HOME", str(COLLECTIONS_ROOT / ".ansible"))
os.environ.setdefault("ANSIBLE_LOCAL_TEMP", str(COLLECTIONS_ROOT / ".ansible" / "tmp"))
if VENV_BIN.is_dir():
    os.environ["PATH"] = str(VENV_BIN) + os.pathsep + os.environ.get("PATH", "")


def pytest_sessionfinish(session, exitstatus):
    import shutil

    shutil.rmtree(COLLECTIONS_ROOT, ignore_errors=True)


@pytest.fixture(scope="session")
def collections_root() -> Path:
    return COLLECTIONS_ROOT


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def ansible_bin() -> str:
    candidate = VENV_BIN / "ansible"
    return str(candidate) if candidate.exists() else "ansible"
