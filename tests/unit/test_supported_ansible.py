"""meta/runtime.yml's requires_ansible is the oldest ansible-core CI runs (requirements-oldest.txt)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def pinned(requirements):
    text = (ROOT / requirements).read_text()
    return re.search(r"^ansible-core==(\S+)$", text, re.MULTILINE).group(1)


def version(text):
    return tuple(int(part) for part in text.split("."))


def test_requires_ansible_is_the_oldest_core_tested():
    requires = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())["requires_ansible"]
    assert requires == f">={pinned('requirements-oldest.txt')}"


def test_the_newest_core_tested_is_newer():
    assert version(pinned("requirements.txt")) >= version(pinned("requirements-oldest.txt"))
