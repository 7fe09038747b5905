"""The settings a fleet needs reach a user of the installed collection, and the ones that only ansible.cfg can make
live in one documented file.

docs/ansible.cfg is the documented ansible.cfg (shipped in the collection); the checkout's ansible.cfg is a link to
it. The example inventories carry the connection settings as variables, checked here against the running
ansible-core's own option names (so on the oldest and the newest core CI runs).
"""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOC_CFG = ROOT / "docs" / "ansible.cfg"
INVENTORIES = sorted(ROOT.glob("inventories/example-*/hosts.yml"))
BIN = Path(sys.executable).parent

# Every ini key of docs/ansible.cfg: where ansible-config reports it (a core setting, or a plugin's option).
SETTINGS = {
    ("defaults", "forks"): ("core", "DEFAULT_FORKS"),
    ("defaults", "interpreter_python"): ("core", "INTERPRETER_PYTHON"),
    ("defaults", "callback_result_format"): ("CALLBACK_PLUGINS", "default", "result_format"),
    ("defaults", "gathering"): ("core", "DEFAULT_GATHERING"),
    ("connection", "pipelining"): ("CONNECTION_PLUGINS", "ssh", "pipelining"),
    ("ssh_connection", "ssh_args"): ("CONNECTION_PLUGINS", "ssh", "ssh_args"),
}
# The connection settings the example inventories carry as variables: ini key -> variable.
VARIABLES = {
    ("defaults", "interpreter_python"): "ansible_python_interpreter",
    ("connection", "pipelining"): "ansible_pipelining",
    ("ssh_connection", "ssh_args"): "ansible_ssh_args",
}


def cfg():
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(DOC_CFG)
    return {(section, key): value for section in parser.sections() for key, value in parser.items(section)}


def tool(name, *args):
    # Only the file speaks: the ANSIBLE_* variables of the test run (tests/conftest.py, the Makefile) would win over it.
    keep = ("ANSIBLE_HOME", "ANSIBLE_LOCAL_TEMP")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") or k in keep}
    env["ANSIBLE_CONFIG"] = str(DOC_CFG)
    proc = subprocess.run([str(BIN / name) if (BIN / name).exists() else name, *args],
                          capture_output=True, text=True, env=env, timeout=120, check=True)  # fmt: skip
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def dumped():
    """{("core", NAME) or (PLUGIN_TYPE, plugin, option): value} of the settings docs/ansible.cfg changes."""
    out = {}
    for entry in tool("ansible-config", "dump", "--only-changed", "-t", "all", "--format", "json"):
        if "name" in entry:
            if entry.get("origin") == str(DOC_CFG):
                out["core", entry["name"]] = entry["value"]
            continue
        for plugin_type, plugins in entry.items():
            for plugin in plugins if isinstance(plugins, list) else []:
                for name, options in plugin.items():
                    for option in options:
                        out[plugin_type, name, option["name"]] = option["value"]
    return out


def test_the_checkout_uses_the_documented_file():
    link = ROOT / "ansible.cfg"
    assert link.read_bytes() == DOC_CFG.read_bytes(), "ansible.cfg must stay a link to docs/ansible.cfg"


def test_every_setting_is_one_ansible_core_knows(dumped):
    assert set(cfg()) == set(SETTINGS), "a setting added to docs/ansible.cfg needs its line in SETTINGS here"
    unknown = {ini: where for ini, where in SETTINGS.items() if where not in dumped}
    assert unknown == {}, f"not taken by this ansible-core: {unknown}"


def test_every_setting_is_explained():
    """Each setting has a comment right above it saying why."""
    lines = DOC_CFG.read_text().splitlines()
    bare = [line for i, line in enumerate(lines) if "=" in line and not line.startswith("#")
            and not lines[i - 1].startswith("#")]  # fmt: skip
    assert bare == []


@pytest.fixture(scope="module")
def ssh_vars():
    doc = tool("ansible-doc", "-t", "connection", "--json", "ansible.builtin.ssh")["ansible.builtin.ssh"]["doc"]
    return {name: [v["name"] for v in option.get("vars", [])] for name, option in doc["options"].items()}


@pytest.mark.parametrize("hosts", INVENTORIES, ids=lambda p: p.parent.name)
def test_example_inventories_carry_the_connection_settings(hosts, ssh_vars):
    # (the connection settings of every host, or of the nodes where the inventory has no other group)
    inventory = yaml.safe_load(hosts.read_text())
    group_vars = inventory["all"]["vars"] if "all" in inventory else inventory["triton_nodes"]["vars"]
    settings = cfg()
    for ini, variable in VARIABLES.items():
        assert variable in group_vars, f"{hosts}: {variable} missing"
        value = settings[ini]
        if isinstance(group_vars[variable], bool):
            value = value.lower() in ("true", "yes", "1", "on")
        assert group_vars[variable] == value, f"{hosts}: {variable} differs from docs/ansible.cfg's {ini}"
    assert "ansible_pipelining" in ssh_vars["pipelining"]
    assert "ansible_ssh_args" in ssh_vars["ssh_args"]


def test_no_default_writes_inside_the_collection():
    """A default under playbook_dir or role_path lands inside an installed collection (site.yml runs from there)."""
    found = []
    for path in sorted(ROOT.glob("roles/*/defaults/main.yml")) + sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
        found += [f"{path.relative_to(ROOT)}: {line.strip()}" for line in path.read_text().splitlines()
                  if ("playbook_dir" in line or "role_path" in line) and not line.lstrip().startswith("#")]  # fmt: skip
    assert found == []
