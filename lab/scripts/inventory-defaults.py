#!/usr/bin/env python3
"""Writes each role's defaults, commented out, into an example inventory's group_vars (kubespray's style).

Usage: inventory-defaults.py INVENTORY_DIR...
Each group_vars/<group>/<role>.yml (the group of the role's hosts: triton_nodes, or the one GROUPS names) keeps what
stands above its marker line (the site's own settings) and gets, below it, every default of
roles/<role>/defaults/main.yml as a commented override, with the role's comments.
Re-run after a role's defaults change; tests/unit/test_role_specs.py fails until then.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ORDER = [
    "nvidia_driver",
    "docker_engine",
    "nvidia_container_toolkit",
    "ngc_login",
    "image_cache",
    "triton_server",
    "site_registry",
]
# Roles whose hosts are not the nodes: their defaults go to their own group's folder.
GROUPS = {"site_registry": "site_registry"}


def commented(defaults_text):
    out = []
    for line in defaults_text.splitlines():
        if line.strip() == "---":
            continue
        if not line.strip():
            out.append("")
        elif line.lstrip().startswith("#"):
            out.append(line)
        else:
            out.append("# " + line)
    return "\n".join(out).strip("\n")


MARKER = "# ---- every default of the role, as an override to uncomment "


def main(inventory):
    for role in ORDER:
        target = Path(inventory) / "group_vars" / GROUPS.get(role, "triton_nodes")
        target.mkdir(parents=True, exist_ok=True)
        path = target / f"{role}.yml"
        head = path.read_text().split(MARKER)[0].rstrip("\n") if path.exists() else "---"
        defaults = (ROOT / "roles" / role / "defaults" / "main.yml").read_text()
        path.write_text(f"{head}\n\n{MARKER}{'-' * 50}\n{commented(defaults)}\n")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        main(arg)
