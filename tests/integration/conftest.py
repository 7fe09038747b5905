from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tritonlab


@pytest.fixture(scope="session")
def triton_root():
    root = tritonlab.triton_root()
    if root is None:
        pytest.skip("no tritonserver tree on this host (lab/scripts/triton-tree.sh)")
    return root


def pytest_terminal_summary(terminalreporter):
    if tritonlab.REPORT:
        terminalreporter.section("measured")
        for line in tritonlab.REPORT:
            terminalreporter.write_line(line)
