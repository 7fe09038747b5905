"""nvidia_container_toolkit's warning for a pinned version that NVIDIA's security bulletins list as affected
(tasks/preflight.yml, the table in vars/main.yml), with real ansible-playbook on this host. Each case is an inventory
host pinning a version; the warning names the variable, the version, each CVE and the release that fixes it, and
the run goes on (a warning, not a failure)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from _role_play import role_play, run_cases

ROLE = Path(__file__).resolve().parents[3] / "roles" / "nvidia_container_toolkit"
TASK = "gpufleet.triton.nvidia_container_toolkit : Warn when the pinned version has CVEs in NVIDIA's security bulletins"
BULLETIN = "https://nvidia.custhelp.com/app/answers/detail/a_id/"
# What NVIDIA's toolkit bulletins say (CVE: first fixed release, bulletin id).
FIXED = {
    "CVE-2024-0132": ("1.16.2", 5582),
    "CVE-2024-0133": ("1.16.2", 5582),
    "CVE-2024-0135": ("1.17.1", 5599),
    "CVE-2024-0136": ("1.17.1", 5599),
    "CVE-2024-0137": ("1.17.1", 5599),
    "CVE-2025-23359": ("1.17.4", 5616),
    "CVE-2025-23266": ("1.17.8", 5659),
    "CVE-2025-23267": ("1.17.8", 5659),
    "CVE-2026-24260": ("1.19.1", 5850),
}
# case: (nvidia_container_toolkit_version, or None for the role's default; the CVEs it is affected by)
CASES = {
    "default": (None, []),
    "old_default": ("1.17.3-1", ["CVE-2025-23359", "CVE-2025-23266", "CVE-2025-23267", "CVE-2026-24260"]),
    "fixes_2025": ("1.17.8-1", ["CVE-2026-24260"]),
    "two_digit_patch": ("1.17.10-1", ["CVE-2026-24260"]),  # 1.17.10 is after 1.17.8, as a number
    "last_affected": ("1.19.0-1", ["CVE-2026-24260"]),
    "release_candidate": ("1.19.1~rc.1-1", ["CVE-2026-24260"]),  # a pre-release precedes its release
    "fixed": ("1.19.1-1", []),
    "newer": ("1.20.0-1", []),
    "rpm_style": ("1.16.1", list(FIXED)),
    "unpinned": ("", []),
}
PLAY = role_play("gpufleet.triton.nvidia_container_toolkit", "preflight.yml")


@pytest.fixture(scope="module")
def results(ansible_bin, tmp_path_factory):
    """{case: (the warning task's result, whether the host failed)} from one ansible-playbook run over every case."""
    hosts = {}
    for case, (version, _) in CASES.items():
        hosts[case] = {"nvidia_container_toolkit_gpu_present": False}
        if version is not None:
            hosts[case]["nvidia_container_toolkit_version"] = version
    report = run_cases(ansible_bin, tmp_path_factory.mktemp("pin"), PLAY, hosts)
    out = {}
    for case in CASES:
        tasks = [t for play in report["plays"] for t in play["tasks"] if case in t["hosts"]]
        warning = next(t["hosts"][case] for t in tasks if t["task"]["name"] == TASK)
        out[case] = (warning, any(t["hosts"][case].get("failed") for t in tasks))
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_affected_pin_warns_naming_each_cve_and_its_fix(results, case):
    version, affected = CASES[case]
    warning, failed = results[case]
    assert not failed, warning
    if not affected:
        assert warning.get("skipped"), warning
        return
    msg = " ".join(warning["msg"].split())
    assert msg.startswith(f"WARNING: nvidia_container_toolkit_version={version} is affected by CVEs"), msg
    for cve in FIXED:
        fixed_in, bulletin = FIXED[cve]
        named = f"{cve} (fixed in {fixed_in}, {BULLETIN}{bulletin})"
        assert (named in msg) == (cve in affected), (cve, msg)
    newest = max((FIXED[c][0] for c in affected), key=lambda v: tuple(map(int, v.split("."))))
    assert f"Pin {newest} or later" in msg, msg


def test_the_table_is_nvidias_bulletins_in_release_order_and_the_default_pin_is_past_it():
    role_vars = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    rows = role_vars["__nvidia_container_toolkit_advisories"]
    base = role_vars["__nvidia_container_toolkit_bulletin"]
    prefix = "{{ __nvidia_container_toolkit_bulletin }}"
    table = {r["cve"]: (r["fixed_in"], int(r["bulletin"].removeprefix(prefix))) for r in rows}
    assert base == BULLETIN
    assert table == FIXED
    releases = [tuple(map(int, r["fixed_in"].split("."))) for r in rows]
    assert releases == sorted(releases), "rows in release order: the last fixed_in is the release the warning advises"
    default = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())["nvidia_container_toolkit_version"]
    assert tuple(map(int, default.split("-")[0].split("."))) >= releases[-1]
