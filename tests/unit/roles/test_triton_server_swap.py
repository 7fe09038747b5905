"""triton_server's swap of staged models into the repository: files/swap.sh, run by sh as the role runs it."""

from __future__ import annotations

import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "triton_server" / "files" / "swap.sh"


def model(folder: Path, name: str, text: str) -> None:
    (folder / name / "1").mkdir(parents=True)
    (folder / name / "config.pbtxt").write_text(text)


def swap(tmp_path: Path, changed: list, removed: list) -> subprocess.CompletedProcess:
    repo, prev, staging = tmp_path / "models", tmp_path / "models.previous", tmp_path / "models.staging"
    argv = ["sh", str(SCRIPT), str(repo), str(prev), str(staging), str(len(changed)), *changed, *removed]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def tree(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def layout(tmp_path: Path) -> None:
    for name, text in (("a", "a old"), ("b", "b old"), ("keep", "keep")):
        model(tmp_path / "models", name, text)
    model(tmp_path / "models.staging", "a", "a new")
    model(tmp_path / "models.staging", "c", "c new")


def test_replaced_and_removed_models_move_aside_and_staged_ones_move_in(tmp_path):
    layout(tmp_path)
    run = swap(tmp_path, ["a", "c"], ["b"])
    assert run.returncode == 0, run.stderr
    assert tree(tmp_path / "models") == {
        "a/config.pbtxt": "a new",
        "c/config.pbtxt": "c new",
        "keep/config.pbtxt": "keep",
    }
    assert tree(tmp_path / "models.previous") == {"a/config.pbtxt": "a old", "b/config.pbtxt": "b old"}
    assert list((tmp_path / "models.staging").iterdir()) == []
    # What the role drops once the new version serves: the models moved aside, and nothing else.
    assert run.stdout.splitlines() == ["a", "b"]


def test_a_first_deployment_moves_nothing_aside_and_names_nothing_to_drop(tmp_path):
    (tmp_path / "models").mkdir()
    model(tmp_path / "models.staging", "a", "a new")
    model(tmp_path / "models.staging", "c", "c new")
    run = swap(tmp_path, ["a", "c"], [])
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""
    assert tree(tmp_path / "models") == {"a/config.pbtxt": "a new", "c/config.pbtxt": "c new"}
    assert list((tmp_path / "models.previous").iterdir()) == []


def test_a_staged_model_gone_stops_the_swap_before_anything_moves(tmp_path):
    layout(tmp_path)
    before = tree(tmp_path / "models")
    run = swap(tmp_path, ["a", "gone", "c"], ["b"])
    assert run.returncode == 3
    staged = tmp_path / "models.staging" / "gone"
    assert (
        f"the staged model {staged} is gone (another run of the role on this node?); nothing was swapped" in run.stderr
    )
    assert tree(tmp_path / "models") == before
    assert not (tmp_path / "models.previous").exists()
    assert sorted(p.name for p in (tmp_path / "models.staging").iterdir()) == ["a", "c"]
