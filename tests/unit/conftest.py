"""Run the Ansible of the Python that runs pytest: `make unit-oldest` runs these tests with another venv's pytest
(.venv/oldest, the oldest ansible-core supported), and its ansible-playbook, not .venv's, must be the one tested."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

RUNNING_BIN = Path(sys.executable).parent

# tests/conftest.py (imported first) put .venv/bin first on PATH; what the tests start by name comes from here instead.
if (RUNNING_BIN / "ansible").exists():
    os.environ["PATH"] = str(RUNNING_BIN) + os.pathsep + os.environ.get("PATH", "")


@pytest.fixture(scope="session")
def ansible_bin() -> str:
    candidate = RUNNING_BIN / "ansible"
    return str(candidate) if candidate.exists() else "ansible"
