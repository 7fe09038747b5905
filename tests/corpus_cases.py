"""The repository corpus (tests/corpus/{valid,broken}/<case>/{repo/,expect.yml}) as pytest parameters."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

CORPUS = Path(__file__).resolve().parent / "corpus"


class CorpusCase:
    def __init__(self, directory: Path):
        self.dir = directory
        self.kind = directory.parent.name
        self.name = directory.name
        self.repo = directory / "repo"
        self.expect = yaml.safe_load((directory / "expect.yml").read_text()) or {}
        self.options = self.expect.get("options") or {}
        self.models = self.expect.get("models") or {}
        self.triton = bool(self.expect.get("triton", True))
        self.triton_args = list(self.expect.get("triton_args") or [])

    def materialize(self, dest: Path) -> Path:
        """Copy the case's repository to `dest`; files stored as `*.in` (sources that must not be valid Python in the
        tree, where linters and ansible-test compile them) get their real name."""
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(self.repo, dest, symlinks=True)
        for stored in list(dest.rglob("*.in")):
            stored.rename(stored.with_suffix(""))
        return dest

    @property
    def id(self) -> str:
        return f"{self.kind}/{self.name}"

    def triton_expected_ready(self, model: str) -> bool:
        spec = self.models[model]
        return bool(spec.get("triton_ready", spec["valid"]))


def load_cases() -> list[CorpusCase]:
    cases = []
    for kind in ("valid", "broken"):
        base = CORPUS / kind
        if base.is_dir():
            cases.extend(CorpusCase(d) for d in sorted(base.iterdir()) if (d / "expect.yml").is_file())
    return cases
