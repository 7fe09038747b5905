"""The site registry on a Debian 12 instance: units, files and modes, the package's unit masked, what each endpoint
lets each user do (asked from the instance, TLS validated with the installed CA), and a garbage collection run."""

import shlex

import pytest

testinfra_hosts = ["ansible://site_registry"]

NAME = "site-registry"
PULL = ("triton-pull", "pull-password-molecule")
PUSH = ("image-push", "push-password-molecule")
RO = f"https://{NAME}:5000"
RW = "https://127.0.0.1:5001"
UNITS = ["gpufleet-registry.service", "gpufleet-registry-push.service"]
# One HTTP request from the instance (it has python3, no curl): prints the status code.
PROBE = r"""
import base64, ssl, sys, urllib.error, urllib.request
url, user, password, method = sys.argv[1:5]
ctx = ssl.create_default_context(cafile="/etc/gpufleet-registry/tls/ca.crt")
req = urllib.request.Request(url, method=method, data=None if method == "GET" else b"")
req.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
try:
    with urllib.request.urlopen(req, context=ctx, timeout=10) as res:
        print(res.status)
except urllib.error.HTTPError as err:
    print(err.code)
"""


def status(host, url, user, password, method="GET"):
    args = " ".join(shlex.quote(a) for a in (url, user, password, method))
    return int(host.check_output(f"python3 -c {shlex.quote(PROBE)} {args}"))


@pytest.mark.parametrize("unit", [*UNITS, "gpufleet-registry-gc.timer"])
def test_units_active_and_enabled(host, unit):
    svc = host.service(unit)
    assert svc.is_running and svc.is_enabled


def test_package_unit_masked_and_stopped(host):
    assert host.file("/etc/systemd/system/docker-registry.service").linked_to == "/dev/null"
    assert host.run("systemctl is-enabled docker-registry.service").stdout.strip() == "masked"
    assert not host.service("docker-registry.service").is_running


@pytest.mark.parametrize(
    ("path", "user", "mode"),
    [
        ("/etc/gpufleet-registry/pull.htpasswd", "root", 0o640),
        ("/etc/gpufleet-registry/push.htpasswd", "root", 0o640),
        ("/etc/gpufleet-registry/serve.yml", "root", 0o640),
        ("/etc/gpufleet-registry/push.yml", "root", 0o640),
        ("/etc/gpufleet-registry/tls/registry.key", "root", 0o640),
        ("/etc/gpufleet-registry/tls/registry.crt", "root", 0o644),
        ("/etc/gpufleet-registry/tls/ca.crt", "root", 0o644),
        ("/var/lib/gpufleet-registry", "docker-registry", 0o750),
    ],
)
def test_files_and_modes(host, path, user, mode):
    f = host.file(path)
    assert f.exists and f.user == user and f.mode == mode
    assert f.group == ("root" if path.endswith(".crt") else "docker-registry")


def test_one_bcrypt_user_per_file(host):
    for name, (user, _) in (("pull", PULL), ("push", PUSH)):
        lines = host.file(f"/etc/gpufleet-registry/{name}.htpasswd").content_string.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"{user}:$2"), lines


def test_read_only_config(host):
    serve = host.file("/etc/gpufleet-registry/serve.yml").content_string
    push = host.file("/etc/gpufleet-registry/push.yml").content_string
    assert "readonly:\n      enabled: true" in serve and "delete:" not in serve
    assert "delete:\n    enabled: true" in push


def test_push_endpoint_on_loopback_only(host):
    listening = host.check_output("ss -Hltn")
    assert "127.0.0.1:5001 " in listening
    # The read-only one on every address (Go listens on the IPv6 wildcard, dual-stack: ss shows *:5000).
    assert not any(f"{a}:5001 " in listening for a in ("0.0.0.0", "*", "[::]"))  # noqa: S104 - what must not be
    assert any(f"{a}:5000 " in listening for a in ("0.0.0.0", "*", "[::]"))  # noqa: S104 - what must be


def test_pull_user_reads_the_read_only_registry(host):
    assert status(host, f"{RO}/v2/", *PULL) == 200


def test_read_only_registry_refuses_an_upload(host):
    # distribution in readonly maintenance mode has no upload route: 405 Method Not Allowed.
    assert status(host, f"{RO}/v2/gpufleet/probe/blobs/uploads/", *PULL, method="POST") == 405


def test_push_user_starts_an_upload_on_loopback(host):
    assert status(host, f"{RW}/v2/", *PUSH) == 200
    assert status(host, f"{RW}/v2/gpufleet/probe/blobs/uploads/", *PUSH, method="POST") == 202


def test_each_registry_knows_only_its_user(host):
    assert status(host, f"{RW}/v2/", *PULL) == 401
    assert status(host, f"{RO}/v2/", *PUSH) == 401


def test_wrong_password_is_refused(host):
    assert status(host, f"{RO}/v2/", PULL[0], "wrong-password") == 401


def test_passwords_not_in_files_or_processes(host):
    for _, password in (PULL, PUSH):
        assert host.run(f"grep -rlF -- {shlex.quote(password)} /etc/gpufleet-registry /etc/systemd").rc == 1
        assert password not in host.check_output("ps -eo args")


def test_garbage_collection_runs_and_leaves_the_registries_up(host):
    res = host.run("systemctl start gpufleet-registry-gc.service")
    assert res.rc == 0, res.stderr + host.run("journalctl -u gpufleet-registry-gc.service -n 30").stdout
    for unit in UNITS:
        assert host.service(unit).is_running
    assert host.run("systemctl show -p Result --value gpufleet-registry-gc.service").stdout.strip() == "success"
    # The push registry came back (ExecStopPost) and answers again.
    answers = []
    for _ in range(15):
        answers.append(host.run(f"python3 -c {shlex.quote(PROBE)} {RW}/v2/ {PUSH[0]} {PUSH[1]} GET").stdout.strip())
        if answers[-1] == "200":
            break
        host.run("sleep 1")
    assert answers[-1] == "200", answers
