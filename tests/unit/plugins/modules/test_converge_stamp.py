"""converge_stamp and converge_stamp_info through `ansible` on this host (local connection), and the snapshot rules."""

from __future__ import annotations

import json
import os
import stat
import time

import pytest
from adhoc import run_adhoc
from ansible_collections.gpufleet.triton.plugins.module_utils import _converge_stamp as cs

DIGEST = "a" * 64


def module(ansible_bin, name, args, check=False):
    return run_adhoc(ansible_bin, f"gpufleet.triton.{name}", args, check=check)[1]


@pytest.fixture
def node(tmp_path):
    etc = tmp_path / "etc" / "app"
    (etc / "sub").mkdir(parents=True)
    (etc / "config.json").write_text('{"a": 1}\n')
    (etc / "sub" / "run").write_text("#!/bin/sh\n")
    (etc / "sub" / "run").chmod(0o700)
    return tmp_path, etc


def test_record_then_converged_then_drift(ansible_bin, node):
    tmp_path, etc = node
    path = str(tmp_path / "state" / "converged.json")
    spec = dict(path=path, digest=DIGEST, paths=[str(etc), str(tmp_path / "never")], packages=["dpkg"])
    check = module(ansible_bin, "converge_stamp", spec, check=True)
    assert check["changed"] and not os.path.exists(path)
    first = module(ansible_bin, "converge_stamp", spec)
    assert first["changed"] and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert first["snapshot"]["paths"][str(tmp_path / "never")] == "absent"
    assert first["snapshot"]["packages"]["dpkg"] != "absent" and first["previous_differences"] == []
    again = module(ansible_bin, "converge_stamp", spec)  # a complete run vouches anew: the time is written again
    assert again["changed"] and again["converged_at"] >= first["converged_at"] and again["previous_differences"] == []

    info = module(ansible_bin, "converge_stamp_info", dict(path=path, digest=DIGEST))
    assert info["converged"] and info["reasons"] == []
    other = module(ansible_bin, "converge_stamp_info", dict(path=path, digest="b" * 64))
    assert not other["converged"] and "inputs changed" in other["reasons"][0]

    (etc / "sub" / "run").chmod(0o755)
    (etc / "new-file").write_text("x")
    drift = module(ansible_bin, "converge_stamp_info", dict(path=path, digest=DIGEST))
    assert not drift["converged"]
    assert any(str(etc / "sub" / "run") in r and "0755" in r for r in drift["reasons"]), drift["reasons"]
    assert any(str(etc / "new-file") in r and "not listed" in r for r in drift["reasons"]), drift["reasons"]


def test_no_stamp_and_bad_digest(ansible_bin, tmp_path):
    path = str(tmp_path / "none.json")
    res = module(ansible_bin, "converge_stamp_info", dict(path=path, digest=DIGEST))
    assert not res["converged"] and "no stamp" in res["reasons"][0]
    bad = module(ansible_bin, "converge_stamp", dict(path=path, digest="XYZ"))
    assert bad["failed"] and "digest must be 64 lowercase hexadecimal digits" in bad["msg"]


def test_snapshot_sees_content_mode_and_links(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"one")
    (tmp_path / "l").symlink_to("f")
    before = cs.snapshot_paths([str(tmp_path)])
    assert before[str(tmp_path / "l")].startswith("link f ")
    target.write_bytes(b"two")
    after = cs.snapshot_paths([str(tmp_path)])
    reasons = cs.differences({"paths": before}, {"paths": after})
    assert len(reasons) == 1 and str(target) in reasons[0]
    assert cs.differences({"paths": after}, {"paths": cs.snapshot_paths([str(tmp_path)])}) == []


def test_held_packages_show_their_version_and_the_hold(tmp_path, monkeypatch):
    """A held driver package is seen with its version, and a hold removed or a version changed under it differs."""
    (tmp_path / "info").mkdir()
    entry = "Package: {}\nStatus: {} ok {}\nPriority: optional\nArchitecture: amd64\nVersion: {}\n\n"

    def status(*pkgs):
        (tmp_path / "status").write_text("".join(entry.format(*p) for p in pkgs))
        return cs.snapshot_packages(["nvidia-driver", "gone", "other"])

    monkeypatch.setenv("DPKG_ADMINDIR", str(tmp_path))  # dpkg-query reads this database instead of the host's
    held = status(("nvidia-driver", "hold", "installed", "535.247.01-1"), ("gone", "deinstall", "config-files", "1"),
                  ("other", "install", "installed", "2.0"))  # fmt: skip
    assert held == {"nvidia-driver": "535.247.01-1 held", "gone": "absent", "other": "2.0"}
    unheld = status(("nvidia-driver", "install", "installed", "535.247.01-1"), ("other", "install", "installed", "2.0"))
    upgraded = status(("nvidia-driver", "hold", "installed", "535.261.03-1"), ("other", "install", "installed", "2.0"))
    for now in (unheld, upgraded):
        (reason,) = cs.differences({"packages": held}, {"packages": now})
        assert "nvidia-driver" in reason, reason


def test_packages_and_endpoints_report_what_is_missing():
    versions = cs.snapshot_packages(["dpkg", "gpufleet-no-such-package"])
    assert versions["gpufleet-no-such-package"] == "absent" and versions["dpkg"] != "absent"
    states = cs.snapshot_endpoints(["http://127.0.0.1:9"], ["m"], timeout=2)
    assert states["http://127.0.0.1:9"].startswith("unreachable")
    assert cs.differences({"endpoints": {"u": "ready"}}, {"endpoints": states}) != []


def test_duration_seconds():
    assert [cs.duration_seconds(v) for v in (0, 90, "90", "90s", "30m", "12h", "1d", "1d12h", "2w")] == [
        0, 90, 90, 90, 1800, 43200, 86400, 129600, 1209600]  # fmt: skip
    for bad in ("", "1.5h", "-1", "1y", "d", "1 d", True, None):
        with pytest.raises(ValueError):
            cs.duration_seconds(bad)


def test_a_stamp_older_than_max_age_never_skips(ansible_bin, tmp_path):
    """Older than max_age (default one day), or dated ahead of the node's clock: not converged, whatever the snapshot;
    the next complete run's stamp is fresh again."""
    path = tmp_path / "converged.json"
    (tmp_path / "f").write_text("x")
    spec = dict(path=str(path), digest=DIGEST, paths=[str(tmp_path / "f")])
    module(ansible_bin, "converge_stamp", spec)

    def written_at(seconds):
        stamp = json.loads(path.read_text())
        stamp["converged_at"] = seconds
        path.write_text(json.dumps(stamp))

    def info(**extra):
        return module(ansible_bin, "converge_stamp_info", dict(path=str(path), digest=DIGEST, **extra))

    assert info()["converged"]
    written_at(time.time() - 2 * 86400)
    old = info()
    assert not old["converged"] and "more than max_age 86400 s" in old["reasons"][0], old["reasons"]
    assert info(max_age="3d")["converged"] and info(max_age=3 * 86400)["converged"]
    assert not info(max_age="1d12h")["converged"]
    written_at(time.time() - 60)
    assert info(max_age="90s")["converged"] and not info(max_age="0")["converged"]
    written_at(time.time() + 3600)
    ahead = info()
    assert not ahead["converged"] and "ahead of this node's clock" in ahead["reasons"][0], ahead["reasons"]
    written_at(time.time() - 2 * 86400)
    module(ansible_bin, "converge_stamp", spec)
    assert info()["converged"]
    bad = info(max_age="1 day")
    assert bad["failed"] and "max_age" in bad["msg"] and "duration" in bad["msg"], bad


def test_services_are_matched_by_name_not_by_place(monkeypatch):
    """systemctl show answers in its own order and by the unit's full name; each state lands on the unit it is for."""
    answer = (
        "ActiveState=active\nUnitFileState=enabled\nNames=docker.service\n\n"
        "ActiveState=inactive\nUnitFileState=disabled\nNames=containerd.service\n\n"
        "ActiveState=active\nUnitFileState=enabled\nNames=triton-server@main.service\n"
    )
    monkeypatch.setattr(cs, "_run", lambda argv: (answer, 0))
    assert cs.snapshot_services(["triton-server@main.service", "containerd", "docker.service", "gone"]) == {
        "triton-server@main.service": "active enabled",
        "containerd": "inactive disabled",
        "docker.service": "active enabled",
        "gone": "unknown",
    }
