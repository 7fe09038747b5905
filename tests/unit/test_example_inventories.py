"""Every shipped example inventory is accepted as it is, on every supported platform.

For each `inventories/example-*` and each supported OS (fake facts, one host per OS), real ansible-playbook runs each
role of site.yml in site.yml's order, in check mode, the way Ansible starts it: the entry point's argument spec
(meta/argument_specs.yml, checked by Ansible itself against the role's defaults and the example's settings), then the
role's tasks/main.yml, whose task files other than the preflight are emptied in a copy of the collection. The
preflights select the packages (the nvidia_driver_packages filter) and check the driver against the Triton image. Any
refusal fails the test with the role's message. An example with a site registry host (group site_registry) runs it
first, as site.yml does (a Debian 12 host): site_registry's preflight and image_cache's publish entry point's checks.

A fake host has no node to read, so the test leaves out the preflight tasks that read one (NODE_PROBES, each named
and checked to exist) and gives GPU detection a fake sysfs tree with one data-center GPU. The operator's own files and
secrets, which no example can ship, are supplied: the vault's NGC key and registry passwords, the image tarball with its
.sha256 file, the site registry's CA as its first run leaves it on the controller, and a model repository beside the
inventory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from _fakes import FAKE_FACTS_MODULE, key, write_pem, x509_cert

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.name for p in (REPO / "inventories").glob("example-*"))
# site.yml's order (playbooks/site.yml): later roles read facts the earlier ones set.
ROLES = ["nvidia_driver", "docker_engine", "nvidia_container_toolkit", "ngc_login", "image_cache", "triton_server"]

_COMMON = {
    "architecture": "x86_64",
    "kernel": "6.1.0-28-amd64",
    "machine_id": "0" * 32,
    "fqdn": "gpu-node.example.com",
    "virtualization_type": "kvm",
    "virtualization_role": "host",
    "virtualization_tech_guest": [],
    "python": {"executable": "/usr/bin/python3"},
}
# Every OS the roles support (their preflights name the same list), with the facts their tasks read.
PLATFORMS = {
    "debian12": {"os_family": "Debian", "distribution": "Debian", "distribution_major_version": "12",
                 "distribution_version": "12.8", "distribution_release": "bookworm"},
    "debian13": {"os_family": "Debian", "distribution": "Debian", "distribution_major_version": "13",
                 "distribution_version": "13.2", "distribution_release": "trixie"},
    "ubuntu2204": {"os_family": "Debian", "distribution": "Ubuntu", "distribution_major_version": "22",
                   "distribution_version": "22.04", "distribution_release": "jammy"},
    "ubuntu2404": {"os_family": "Debian", "distribution": "Ubuntu", "distribution_major_version": "24",
                   "distribution_version": "24.04", "distribution_release": "noble"},
    "el8": {"os_family": "RedHat", "distribution": "RedHat", "distribution_major_version": "8",
            "distribution_version": "8.10", "distribution_release": "Ootpa"},
    "rocky9": {"os_family": "RedHat", "distribution": "Rocky", "distribution_major_version": "9",
               "distribution_version": "9.5", "distribution_release": "Blue Onyx"},
}  # fmt: skip

# Task files a role's preflight includes; every other task file (install, configure, run) is emptied in the copy.
PREFLIGHT_PARTS = {
    "nvidia_driver": ["detect.yml", "triton_requirement.yml", "live_node.yml", "installed_version.yml"],
    "triton_server": ["instances.yml"],
    # The site registry host's part: its checks of the settings (the rest of the entry point is in NODE_PROBES).
    "image_cache": ["publish.yml"],
    "site_registry": ["preflight_tls.yml"],
}
# Preflight tasks that read the node, left out here: {role's task file: [task names]}.
NODE_PROBES = {
    # tasks/live_node.yml: the installed driver package, the loaded module, the services and the running containers.
    "nvidia_driver/tasks/preflight.yml": ["Check for a pending driver change and a running Triton"],
    # The node's lock (files/lock.sh on the node) and triton_server_node_info (image ID, last run's models, digests).
    # The registry's answer, and the push.
    "image_cache/tasks/publish.yml": [
        "Ask the site registry which image the tag holds",
        "Fail when the site registry does not answer",
        "Note the image the registry holds under the tag",
        "Copy, load and push the tarball's image unless the registry holds it under the tag",
    ],
    # The ports in use and the storage's free space.
    "site_registry/tasks/preflight.yml": ["Check the ports and the storage on the node"],
    "triton_server/tasks/preflight.yml": [
        "Take the node's lock",
        "Stop when another run of the role is changing this node",
        "Report a lock broken as stale",
        "Read the image ID, the validator's presence, the last run's models and the models' digests",
        "Note whether the image is still to come (check mode)",
        "Check that the image is on the node",
    ],
}

# The example's site registry host, if it has one, first, as site.yml's registry play (site_registry_image.yml) runs
# it before any node: the registry's checks, then the image_cache entry point that pushes the image (its checks).
REGISTRY_PLAY = (
    "- hosts: site_registry\n  gather_facts: false\n  tasks:\n"
    "    - name: Give the host its platform's facts\n      fake_facts:\n        facts: '{{ fake_facts }}'\n"
    "    - name: Start site_registry as site.yml does (argument spec, then preflight)\n"
    "      ansible.builtin.include_role:\n        name: gpufleet.triton.site_registry\n        public: true\n"
    "    - name: Start image_cache's publish entry point (argument spec, then its checks)\n"
    "      ansible.builtin.include_role:\n        name: gpufleet.triton.image_cache\n        tasks_from: publish\n"
)
PLAY = (
    "- hosts: example_test_hosts\n  gather_facts: false\n  tasks:\n"
    "    - name: Give the host its platform's facts\n      fake_facts:\n        facts: '{{ fake_facts }}'\n"
    + "".join(
        f"    - name: Start {role} as site.yml does (argument spec, then preflight)\n"
        f"      ansible.builtin.include_role:\n        name: gpufleet.triton.{role}\n        public: true\n"
        for role in ROLES
    )
    + "    - name: Check that no role gathered the real facts over the fake ones\n"
    "      ansible.builtin.assert:\n        that: ansible_facts['distribution'] == fake_facts['distribution']\n"
)


def _collection_with_preflight_only(root):
    """A copy of the collection whose roles run only their preflight, without the node-probing tasks."""
    coll = root / "ansible_collections" / "gpufleet" / "triton"
    coll.mkdir(parents=True)
    for part in ("galaxy.yml", "meta", "plugins", "roles"):
        src = REPO / part
        (shutil.copytree if src.is_dir() else shutil.copy)(src, coll / part)
    for role in [*ROLES, "site_registry"]:
        kept = {"main.yml", "preflight.yml", *PREFLIGHT_PARTS.get(role, [])}
        for path in (coll / "roles" / role / "tasks").glob("*.yml"):
            if path.name not in kept:
                path.write_text("---\n[]\n")
    for task_file, names in NODE_PROBES.items():
        path = coll / "roles" / task_file
        tasks = yaml.safe_load(path.read_text())
        found = {t.get("name") for t in tasks}
        missing = sorted(set(names) - found)
        assert not missing, f"{task_file} no longer has the tasks {missing}: update NODE_PROBES"
        path.write_text(yaml.safe_dump([t for t in tasks if t.get("name") not in names], sort_keys=False))
    return root


def _registry_hosts(inventory):
    """The example's hosts in the group site_registry (hosts.yml: all.children.site_registry.hosts)."""
    groups = yaml.safe_load((inventory / "hosts.yml").read_text()).get("all", {}).get("children", {})
    return sorted((groups.get("site_registry") or {}).get("hosts") or {})


def _site_ca(folder):
    """A CA certificate and its key (ca.crt, ca.key), as site_registry_tls_generate leaves them on the controller."""
    folder.mkdir(parents=True)
    ca_key = key()
    write_pem(folder / "ca.key", key=ca_key)
    return write_pem(folder / "ca.crt", cert=x509_cert(ca_key, "example site CA", ca=True, days=(0, 30)))


def _fake_gpu(pci):
    gpu = pci / "0000:17:00.0"
    gpu.mkdir(parents=True)
    for name, value in (("vendor", "0x10de"), ("class", "0x030200"), ("device", "0x2330")):  # an H100 SXM
        (gpu / name).write_text(value + "\n")
    return pci


def _model_repository(models):
    model = models / "simple"
    (model / "1").mkdir(parents=True)
    (model / "config.pbtxt").write_text(
        'backend: "python"\nmax_batch_size: 0\n'
        'input [{ name: "INPUT0" data_type: TYPE_FP32 dims: [4] }]\n'
        'output [{ name: "OUTPUT0" data_type: TYPE_FP32 dims: [4] }]\n'
    )
    (model / "1" / "model.py").write_text(
        "class TritonPythonModel:\n    def execute(self, requests):\n        return requests\n"
    )


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_is_accepted_on_every_platform(ansible_bin, tmp_path, example):
    _check_example(ansible_bin, tmp_path, example, new_site=False)


@pytest.mark.parametrize("example", [e for e in EXAMPLES if _registry_hosts(REPO / "inventories" / e)])
def test_new_site_check_mode_goes_on_before_the_registry_ca_exists(ansible_bin, tmp_path, example):
    """A brand-new site's first `site.yml --check`: the CA the registry's first run will generate is not there yet."""
    report = _check_example(ansible_bin, tmp_path, example, new_site=True)
    said = [
        item.get("msg", "")
        for play in report["plays"]
        for task in play["tasks"]
        if task["task"]["name"].endswith("Name the CA files that check mode goes on without")
        for result in task["hosts"].values()
        for item in result.get("results", [])
    ]
    assert any("is not on the controller yet" in msg for msg in said), said


def _check_example(ansible_bin, tmp_path, example, new_site):
    collections = _collection_with_preflight_only(tmp_path / "collections")
    inventory = tmp_path / example
    shutil.copytree(REPO / "inventories" / example, inventory)
    _model_repository(inventory / "models")
    pci = _fake_gpu(tmp_path / "pci")
    hosts = {
        f"test-{name}": {"fake_facts": {**_COMMON, **facts}, "nvidia_driver_pci_devices_path": str(pci)}
        for name, facts in PLATFORMS.items()
    }
    # In triton_nodes, so that the example's group_vars apply; limited to these hosts below.
    (inventory / "test-hosts.yml").write_text(
        yaml.safe_dump({"triton_nodes": {"children": {"example_test_hosts": {"hosts": hosts}}}})
    )
    # The example's site registry host, if any: a Debian 12 host (the role runs on the Debian family only).
    registry_hosts = _registry_hosts(inventory)
    facts = {"fake_facts": {**_COMMON, **PLATFORMS["debian12"]}}
    registry = {"site_registry": {"hosts": dict.fromkeys(registry_hosts, facts)}}
    (inventory / "test-registry.yml").write_text(yaml.safe_dump(registry))
    tarball = tmp_path / "tritonserver.tar"
    tarball.write_bytes(b"")
    (tmp_path / "tritonserver.tar.sha256").write_text("0" * 64 + "  tritonserver.tar\n")
    (tmp_path / "library").mkdir()
    (tmp_path / "library" / "fake_facts.py").write_text(FAKE_FACTS_MODULE)
    (tmp_path / "play.yml").write_text((REGISTRY_PLAY if registry_hosts else "") + PLAY)
    operator = {
        "ansible_connection": "local",
        "ansible_become": False,
        "ansible_python_interpreter": sys.executable,
        "vault_ngc_api_key": "nvapi-example-key",  # the site's vault
        "image_cache_tarball": str(tarball),  # the tarball the site carried in, with its .sha256
        "vault_site_registry_pull_password": "example-pull",
        "vault_site_registry_push_password": "example-push",
        # the site registry's CA, made on the controller by the registry's first run (the nodes trust it)
        "site_registry_tls_ca": _site_ca(tmp_path / "site-registry"),
    }
    if new_site:  # the registry's first run has not made its CA yet
        operator["site_registry_tls_ca"] = str(tmp_path / "new-site" / "ca.crt")
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(collections),
        ANSIBLE_LIBRARY=str(tmp_path / "library"),
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
    )
    limit = ",".join(["example_test_hosts", *registry_hosts])
    cmd = [str(Path(ansible_bin).with_name("ansible-playbook")), str(tmp_path / "play.yml"), "-i", str(inventory),
           "--limit", limit, "--check", "-e", json.dumps(operator)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, check=False)
    report = json.loads(proc.stdout[proc.stdout.index("{") :])
    refusals = [
        f"{host}: {task['task']['name']}: {result.get('msg', result)}"
        for play in report["plays"]
        for task in play["tasks"]
        for host, result in task["hosts"].items()
        if result.get("failed") or result.get("unreachable")
    ]
    assert not refusals, "\n".join(refusals)
    assert sorted(report["stats"]) == sorted([*hosts, *registry_hosts]), proc.stderr[-2000:]
    assert all(s["failures"] == 0 and s["unreachable"] == 0 for s in report["stats"].values()), report["stats"]
    return report
