"""converge_stamp and converge_stamp_info through `ansible` on this host (local connection), and the snapshot rules."""

from __future__ import annotations

import os
import stat

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
    assert first["snapshot"]["packages"]["dpkg"] != "absent"
    assert not module(ansible_bin, "converge_stamp", spec)["changed"]

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
