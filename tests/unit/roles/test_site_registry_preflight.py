"""site_registry's preflight refuses each bad input before anything changes, naming the variable (real ansible-playbook
over cases run on this host: the role's own tasks/preflight.yml, the controller's certificate checks with
community.crypto, the node's listening ports read for real, fake facts for the platform and the mounts).

One playbook run covers every case (one inventory host each); every bad case must fail at the check meant for it and
name only its variable, and the good cases must pass, so that a check that refuses everything fails the test too."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest
from _role_play import run_cases
from cryptography.hazmat.primitives import serialization

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/unit, for its shared helpers
from _fakes import FAKE_FACTS_MODULE, write_pem
from _fakes import key as _key
from _fakes import x509_cert as _cert

NAME = "registry.site.test"
PULL_PASSWORD = "pull-secret-4b1f0c"  # noqa: S105 - a made-up secret the output must not show
PUSH_PASSWORD = "push-secret-77d2a9"  # noqa: S105 - a made-up secret the output must not show
DEBIAN = {"os_family": "Debian", "distribution": "Debian", "distribution_major_version": "12",
          "distribution_version": "12.8"}  # fmt: skip
PLAY = """- hosts: all
  gather_facts: false
  tasks:
    - name: Give the case its platform's facts
      fake_facts:
        facts: "{{ fake_facts }}"
    - ansible.builtin.include_role:
        name: gpufleet.triton.site_registry
        tasks_from: preflight.yml
    - name: Preflight passed
      ansible.builtin.debug:
        msg: preflight passed
"""


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A site CA, a server certificate it signed for NAME, and the wrong variants of it."""
    d = tmp_path_factory.mktemp("tls")
    ca_key, other_ca_key, server_key = _key(), _key(), _key()
    ca = _cert(ca_key, "site CA", ca=True)
    other_ca = _cert(other_ca_key, "site CA", ca=True)  # the same name, another key: only a signature check tells
    ca_name = ca.subject

    def server(issuer_key=ca_key, sans=(NAME, "localhost"), days=(-1, 365)):
        return _cert(server_key, NAME, issuer_key, ca_name, sans=sans, days=days)

    # A chain through an intermediate CA: the certificate file holds the intermediate after the server certificate.
    inter_key = _key()
    inter = _cert(inter_key, "site intermediate CA", ca_key, ca_name, ca=True)
    leaf = _cert(server_key, NAME, inter_key, inter.subject, sans=(NAME,))
    pem = serialization.Encoding.PEM
    (d / "chain.crt").write_bytes(leaf.public_bytes(pem) + inter.public_bytes(pem))
    (d / "leaf-only.crt").write_bytes(leaf.public_bytes(pem))

    files = {
        "chain": str(d / "chain.crt"),
        "leaf_only": str(d / "leaf-only.crt"),
        "ca": write_pem(d / "ca.crt", cert=ca),
        "ca_key": write_pem(d / "ca.key", key=ca_key),
        "other_ca": write_pem(d / "other-ca.crt", cert=other_ca),
        "key": write_pem(d / "server.key", key=server_key),
        "other_key": write_pem(d / "other.key", key=_key()),
        "cert": write_pem(d / "server.crt", cert=server()),
        "cert_other_ca": write_pem(d / "server-other-ca.crt", cert=server(issuer_key=other_ca_key)),
        "cert_no_name": write_pem(d / "server-no-name.crt", cert=server(sans=("other.site.test",))),
        "cert_expired": write_pem(d / "server-expired.crt", cert=server(days=(-30, -1))),
        "lonely_ca_dir": str(d / "lonely"),
        "fresh_dir": str(d / "fresh"),
    }
    Path(files["lonely_ca_dir"]).mkdir()
    write_pem(Path(files["lonely_ca_dir"]) / "ca.crt", cert=ca)
    return files


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def report(ansible_bin, tmp_path_factory, tls):
    """Every case in one run, with a port held by this test (a program other than docker-registry)."""
    tmp = tmp_path_factory.mktemp("site_registry_preflight")
    (tmp / "library").mkdir()
    (tmp / "library" / "fake_facts.py").write_text(FAKE_FACTS_MODULE)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    busy_port = busy.getsockname()[1]
    port, push_port = _free_port(), _free_port()
    given = {"site_registry_tls_generate": False, "site_registry_tls_ca": tls["ca"],
             "site_registry_tls_cert": tls["cert"], "site_registry_tls_key": tls["key"]}  # fmt: skip
    base = {
        "fake_facts": DEBIAN,
        "site_registry_name": NAME,
        "site_registry_port": port,
        "site_registry_push_port": push_port,
        "site_registry_pull_password": PULL_PASSWORD,
        "site_registry_push_password": PUSH_PASSWORD,
        # Not created: its nearest existing parent's file system is read (this host's, for real).
        "site_registry_storage_path": str(tmp / "storage" / "registry"),
        "site_registry_min_free_mib": 1,
        **given,
    }
    cases = {
        "good_given": {},
        "good_intermediate": {"site_registry_tls_cert": tls["chain"]},
        "good_generate": {"site_registry_tls_generate": True, "site_registry_tls_ca": tls["fresh_dir"] + "/ca.crt"},
        "redhat": {"fake_facts": {**DEBIAN, "os_family": "RedHat", "distribution": "Rocky"}},
        "no_passwords": {"site_registry_pull_password": "", "site_registry_push_password": ""},
        "no_push_password": {"site_registry_push_password": ""},
        "missing_cert": {"site_registry_tls_cert": tls["fresh_dir"] + "/absent.crt"},
        "missing_key": {"site_registry_tls_key": ""},
        "ca_without_key": {
            "site_registry_tls_generate": True,
            "site_registry_tls_ca": tls["lonely_ca_dir"] + "/ca.crt",
        },
        "wrong_ca": {"site_registry_tls_cert": tls["cert_other_ca"]},
        "intermediate_missing": {"site_registry_tls_cert": tls["leaf_only"]},
        "wrong_key": {"site_registry_tls_key": tls["other_key"]},
        "name_not_in_cert": {"site_registry_tls_cert": tls["cert_no_name"]},
        "expired": {"site_registry_tls_cert": tls["cert_expired"]},
        "port_in_use": {"site_registry_push_port": busy_port},
        "same_ports": {"site_registry_push_port": port},
        # More than any disk here has free (a petabyte).
        "full_disk": {"site_registry_min_free_mib": 1024**3},
    }
    try:
        out = run_cases(ansible_bin, tmp, PLAY, {name: {**base, **case} for name, case in cases.items()})
    finally:
        busy.close()
    return out, busy_port, port, tmp


def _outcome(report, host):
    """(the message of the first task that failed for host, or 'passed', and that task's name)."""
    for task in report["plays"][0]["tasks"]:
        result = task["hosts"].get(host)
        if result and result.get("failed"):
            return result.get("msg", ""), task["task"]["name"]
    return "passed", ""


@pytest.mark.parametrize("case", ["good_given", "good_intermediate", "good_generate"])
def test_good_settings_pass(report, case):
    assert _outcome(report[0], case)[0] == "passed"


@pytest.mark.parametrize(
    ("case", "named", "not_named"),
    [
        ("redhat", "this host's ansible_facts['os_family'] is RedHat", "site_registry_tls"),
        ("no_passwords", "site_registry_pull_password is empty", "site_registry_tls"),
        ("no_passwords", "site_registry_push_password is empty", "site_registry_tls"),
        ("no_push_password", "site_registry_push_password is empty", "site_registry_pull_password"),
        ("missing_cert", '/absent.crt": not a file on the controller', "site_registry_tls_key="),
        ("missing_cert", "site_registry_tls_cert=", "site_registry_tls_ca="),
        ("missing_key", 'site_registry_tls_key="": not a file on the controller', "site_registry_tls_cert="),
        ("ca_without_key", "site_registry_tls_generate=true found the CA", "site_registry_tls_cert"),
        ("ca_without_key", "site_registry_tls_ca_key=", "site_registry_tls_cert"),
        ("wrong_ca", "is not signed by site_registry_tls_ca=", "is not the key of"),
        ("intermediate_missing", "leaf-only.crt is not signed by site_registry_tls_ca=", "is not the key of"),
        ("wrong_key", "other.key is not the key of site_registry_tls_cert=", "is not signed by"),
        ("name_not_in_cert", f"does not name site_registry_name={NAME} in its subjectAltName (it names dns:other",
         "is not signed by"),
        ("expired", "server-expired.crt expired on", "is not signed by"),
        ("same_ports", "site_registry_port and site_registry_push_port must be two different ports", "in use"),
        ("full_disk", "/storage/registry is on /", "site_registry_port"),
        ("full_disk", "site_registry_min_free_mib asks for 1073741824 MiB", "site_registry_port"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_naming_the_variable(report, case, named, not_named):
    msg, _ = _outcome(report[0], case)
    assert named in msg and not_named not in msg, msg


def test_a_port_held_by_another_program_is_refused(report):
    out, busy_port, port, _ = report
    msg, _ = _outcome(out, "port_in_use")
    # This test's own process holds it.
    assert f"site_registry_push_port={busy_port} in use on port_in_use by " in msg, msg
    assert f"(pid {os.getpid()})" in msg, msg
    assert f"site_registry_port={port}" not in msg


def test_the_passwords_never_show(report):
    assert PULL_PASSWORD not in str(report[0]) and PUSH_PASSWORD not in str(report[0])
