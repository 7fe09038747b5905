"""What the benchmarks share: where the checkout and the lab are, and the checkout as gpufleet.triton."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv" / "bin"
LAB = Path(os.environ.get("GPUFLEET_LAB_CACHE", "/var/cache/gpufleet-lab"))
TARBALL = LAB / "images" / "tritonserver-24.10-py3-lab-cpu.tar"
IMAGE = "nvcr.io/nvidia/tritonserver:24.10-py3-lab-cpu"


def collection_root(folder: Path) -> Path:
    """folder/ansible_collections/gpufleet/triton -> this checkout, so that a copy installed in
    ~/.ansible/collections is never the one measured; pass folder as ANSIBLE_COLLECTIONS_PATH."""
    (folder / "ansible_collections" / "gpufleet").mkdir(parents=True)
    (folder / "ansible_collections" / "gpufleet" / "triton").symlink_to(ROOT)
    return folder


def fleet(env: dict, state: str, nodes: list) -> None:
    """Create (present) or remove (absent) lab instances with lab/fleet.yml."""
    res = subprocess.run(
        ["ansible-playbook", "lab/fleet.yml", "-e", f"lab_fleet_state={state}",
         "-e", json.dumps({"lab_fleet_nodes": list(nodes)})],
        cwd=ROOT, env=env, check=False, capture_output=True, text=True,
    )  # fmt: skip
    if res.returncode != 0:
        sys.exit(f"lab/fleet.yml {state} {nodes} failed:\n{res.stdout[-4000:]}\n{res.stderr[-2000:]}")
