"""docker_engine: engine running with the keys it owns merged into daemon.json, foreign keys kept, CA trusted."""

import json

import pytest

testinfra_hosts = ["ansible://all"]


@pytest.fixture
def daemon_json(host):
    return json.loads(host.file("/etc/docker/daemon.json").content_string)


def test_engine_running_and_enabled(host):
    svc = host.service("docker")
    assert svc.is_running
    assert svc.is_enabled


def test_owned_keys_merged(daemon_json):
    assert daemon_json["log-driver"] == "json-file"
    assert daemon_json["live-restore"] is True
    assert daemon_json["log-opts"]["max-size"] == "100m"
    assert daemon_json["log-opts"]["max-file"] == "3"
    assert "insecure-registries" not in daemon_json, "insecure registries only when asked"


def test_cdi_enabled_where_the_engine_has_it(host, daemon_json):
    assert daemon_json["features"] == {"cdi": True}
    info = json.loads(host.check_output("docker info --format '{{json .}}'"))
    if int(info["ServerVersion"].split(".")[0]) >= 25:
        assert info["CDISpecDirs"], "Docker 25 and later list their CDI folders once CDI is enabled"
    else:
        assert not info.get("CDISpecDirs"), "Docker before 25 has no CDI (the key is ignored, the engine runs)"


def test_foreign_keys_survive(daemon_json):
    assert daemon_json["max-concurrent-downloads"] == 4
    assert daemon_json["runtimes"]["nvidia"]["path"] == "/usr/bin/nvidia-container-runtime"
    assert daemon_json["log-opts"]["labels"] == "service", "nested dicts are merged, not replaced"


def test_daemon_json_mode(host):
    f = host.file("/etc/docker/daemon.json")
    assert f.user == "root"
    assert f.mode == 0o644


def test_engine_loaded_the_config(host):
    info = json.loads(host.check_output("docker info --format '{{json .}}'"))
    assert info["LoggingDriver"] == "json-file"
    assert info["LiveRestoreEnabled"] is True
    assert "nvidia" in info["Runtimes"]


def test_registry_ca_trusted(host):
    f = host.file("/etc/docker/certs.d/registry.gpufleet-lab.test:5000/ca.crt")
    assert f.is_file
    assert f.mode == 0o644
    assert "BEGIN CERTIFICATE" in f.content_string


def test_python_requests_for_community_docker(host):
    host.run_expect([0], "python3 -c 'import requests'")
