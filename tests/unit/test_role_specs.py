"""Every role documents each of its public variables, and the example inventories show each one as an override."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.parent.parent.name for p in ROOT.glob("roles/*/defaults/main.yml"))
EXAMPLES = ["example-online", "example-airgapped"]


def defaults(role):
    return yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}


def spec_options(role):
    spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    return spec["argument_specs"]["main"]["options"]


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_match_defaults(role):
    options = spec_options(role)
    assert set(defaults(role)) - set(options) == set(), "defaults without an argument spec"
    public = {name for name in options if not name.startswith("__")}
    required = {name for name, opt in options.items() if opt.get("required")}
    assert public - set(defaults(role)) - required == set(), "documented options without a default"


@pytest.mark.parametrize("role", ROLES)
def test_public_variables_carry_the_role_prefix(role):
    assert [name for name in defaults(role) if not name.startswith(role + "_")] == []


@pytest.mark.parametrize("site", EXAMPLES)
def test_example_inventories_show_every_default(site):
    text = "\n".join(p.read_text() for p in sorted((ROOT / "inventories" / site).rglob("*.yml")))
    missing = [
        name for role in ROLES for name in defaults(role) if f"# {name}:" not in text and f"\n{name}:" not in text
    ]
    assert missing == []
