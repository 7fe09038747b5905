#!/usr/bin/env python3
"""Writes each role's defaults, commented out, into an example inventory's group_vars (kubespray's style).

Usage: inventory-defaults.py INVENTORY_DIR...
Each group_vars/<group>/<role>.yml (triton_nodes for the node roles, site_registry for the registry's) keeps what
stands above its marker line (the site's own settings) and gets, below it, every default of
roles/<role>/defaults/main.yml as a commented override, with the role's comments.
Re-run after a role's defaults change; tests/unit/test_role_specs.py fails until then.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NODE_ROLES = ["nvidia_driver", "docker_engine", "nvidia_container_toolkit", "ngc_login", "image_cache", "triton_server"]
# (role, the inventory group whose hosts run it)
ORDER = [(role, "triton_nodes") for role in NODE_ROLES] + [("site_registry", "site_registry")]


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
    for role, group in ORDER:
        target = Path(inventory) / "group_vars" / group
        target.mkdir(parents=True, exist_ok=True)
        path = target / f"{role}.yml"
        head = path.read_text().split(MARKER)[0].rstrip("\n") if path.exists() else "---"
        defaults = (ROOT / "roles" / role / "defaults" / "main.yml").read_text()
        path.write_text(f"{head}\n\n{MARKER}{'-' * 50}\n{commented(defaults)}\n")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        main(arg)
