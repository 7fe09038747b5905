"""Every role documents each of its public variables in meta/argument_specs.yml, which owns their types and choices;
defaults/main.yml gives the same defaults; the example inventories show each one as an override."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.parent.parent.name for p in ROOT.glob("roles/*/defaults/main.yml"))
SPECS = sorted(p.parent.parent.name for p in ROOT.glob("roles/*/meta/argument_specs.yml"))
EXAMPLES = ["example-online", "example-airgapped"]
# What a default of each argument spec type may be (a templated string is checked when the role runs).
TYPES = {
    "str": str,
    "path": str,
    "bool": bool,
    "int": int,
    "float": (int, float),
    "list": list,
    "dict": dict,
}


def defaults(role):
    return yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}


def entry_points(role):
    return yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]


def spec_options(role):
    return entry_points(role)["main"]["options"]


def all_options(role):
    """(entry point, dotted option name, option) for every option of every entry point, suboptions included."""

    def walk(entry, prefix, options):
        for name, option in (options or {}).items():
            yield entry, prefix + name, option
            yield from walk(entry, prefix + name + ".", option.get("options"))

    for entry, spec in entry_points(role).items():
        yield from walk(entry, "", spec.get("options"))


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_match_defaults(role):
    options = spec_options(role)
    assert set(defaults(role)) - set(options) == set(), "defaults without an argument spec"
    public = {name for name in options if not name.startswith("__")}
    required = {name for name, opt in options.items() if opt.get("required")}
    assert public - set(defaults(role)) - required == set(), "documented options without a default"


@pytest.mark.parametrize("role", ROLES)
def test_spec_defaults_are_the_role_defaults(role):
    options = spec_options(role)
    differ = {
        name: (value, options[name].get("default"))
        for name, value in defaults(role).items()
        if "default" in options.get(name, {}) and options[name]["default"] != value
    }
    assert differ == {}, "defaults/main.yml and meta/argument_specs.yml disagree (defaults, spec)"


@pytest.mark.parametrize("role", SPECS)
def test_every_option_has_a_type_and_a_description(role):
    untyped = [f"{entry}: {name}" for entry, name, option in all_options(role) if "type" not in option]
    undescribed = [f"{entry}: {name}" for entry, name, option in all_options(role) if not option.get("description")]
    assert (untyped, undescribed) == ([], [])


@pytest.mark.parametrize("role", SPECS)
def test_spec_defaults_fit_their_type_and_choices(role):
    wrong = []
    for entry, name, option in all_options(role):
        if "default" not in option or option["default"] is None:
            continue
        value, kind = option["default"], option.get("type", "str")
        if isinstance(value, str) and "{{" in value:
            continue
        if kind in TYPES and (not isinstance(value, TYPES[kind]) or (kind == "int" and isinstance(value, bool))):
            wrong.append(f"{entry}: {name}={value!r} is not a {kind}")
        if "choices" in option and value not in option["choices"]:
            wrong.append(f"{entry}: {name}={value!r} is not one of {option['choices']}")
        if kind == "list" and "elements" in option and option["elements"] in TYPES:
            wrong += [f"{entry}: {name} item {v!r} is not a {option['elements']}" for v in value
                      if not isinstance(v, TYPES[option["elements"]])]  # fmt: skip
    assert wrong == []


@pytest.mark.parametrize("role", ROLES)
def test_public_variables_carry_the_role_prefix(role):
    assert [name for name in defaults(role) if not name.startswith(role + "_")] == []


@pytest.mark.parametrize("role", SPECS)
def test_options_carry_the_role_prefix(role):
    assert [f"{entry}: {name}" for entry, name, _ in all_options(role)
            if "." not in name and not name.startswith((role + "_", "__" + role + "_"))] == []  # fmt: skip


@pytest.mark.parametrize("site", EXAMPLES)
def test_example_inventories_show_every_default(site):
    text = "\n".join(p.read_text() for p in sorted((ROOT / "inventories" / site).rglob("*.yml")))
    missing = [
        name for role in ROLES for name in defaults(role) if f"# {name}:" not in text and f"\n{name}:" not in text
    ]
    assert missing == []
