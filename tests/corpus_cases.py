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


def split_repository(source: Path, staged: list, dest: Path, live_has_all: bool = False) -> tuple:
    """Split a corpus repository as triton_server stages a change: `staged` models in dest/stage, the rest in
    dest/live (with `live_has_all`, every model: the staged ones are changes of live models). Returns (stage, live)."""
    stage, live = dest / "stage", dest / "live"
    stage.mkdir(parents=True)
    live.mkdir(parents=True)
    for model in sorted(p.name for p in source.iterdir()):
        targets = [stage / model] if model in staged else []
        targets += [live / model] if live_has_all or model not in staged else []
        for target in targets:
            shutil.copytree(source / model, target, symlinks=True)
            for stored in list(target.rglob("*.in")):
                stored.rename(stored.with_suffix(""))
    return stage, live


def retype_first_input(model_dir: Path, dtype: str) -> None:
    """Change the data type of the first FP32 tensor of a model's config.pbtxt (its first input)."""
    cfg = model_dir / "config.pbtxt"
    text = cfg.read_text()
    assert "data_type: TYPE_FP32" in text, cfg
    cfg.write_text(text.replace("data_type: TYPE_FP32", f"data_type: {dtype}", 1))
