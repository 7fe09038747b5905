"""gpufleet.triton.nvidia_container_toolkit, with the stand-in packages from a local (offline-folder) apt repository."""

import json
import os
import subprocess
from pathlib import Path

import yaml

# The role's default pin (NVIDIA bulletin 5850 fixes CVE-2026-24260 in 1.19.1): the stand-in offers it and 1.20.0-1.
PIN = "1.19.1-1"
PACKAGES = [
    "nvidia-container-toolkit",
    "nvidia-container-toolkit-base",
    "libnvidia-container-tools",
    "libnvidia-container1",
]


def test_the_stand_in_follows_the_roles_pin():
    defaults = Path(__file__).resolve().parents[3] / "roles" / "nvidia_container_toolkit" / "defaults" / "main.yml"
    pin = yaml.safe_load(defaults.read_text())["nvidia_container_toolkit_version"]
    assert pin == PIN, "the role's pin moved: update PIN here and the stand-in's versions (files/build-standin.sh)"


def test_pinned_version_installed_although_a_newer_one_is_offered(host):
    policy = host.check_output("apt-cache policy nvidia-container-toolkit")
    assert "1.20.0-1" in policy  # the repository offers the newer version ...
    for name in PACKAGES:
        assert host.package(name).version == PIN, name  # ... and the pin keeps the role's default


def test_repository_pinning_and_holds(host):
    pref = host.file("/etc/apt/preferences.d/gpufleet-nvidia-container-toolkit.pref").content_string
    assert f"Pin: version {PIN}" in pref
    assert "Pin-Priority: 1001" in pref
    held = host.check_output("apt-mark showhold").split()
    assert sorted(held) == sorted(PACKAGES)
    # An upgrade would not move the toolkit.
    upgrade = host.check_output("apt-get -s -o Debug::NoLocking=1 upgrade")
    assert "Inst nvidia-container" not in upgrade


def test_local_repository_is_the_offline_folder(host):
    sources = host.file("/etc/apt/sources.list.d/gpufleet-nvidia-container-toolkit.sources").content_string
    assert "URIs: file:/var/lib/gpufleet/nvidia-container-toolkit-repo" in sources
    assert host.file("/var/lib/gpufleet/nvidia-container-toolkit-repo/Packages").exists


def test_daemon_json_merged_keeping_foreign_keys(host):
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert config["log-level"] == "warn"
    assert config["features"] == {"cdi": True}
    assert config["runtimes"]["lab-runc"] == {"path": "/usr/sbin/runc"}
    assert config["runtimes"]["nvidia"] == {"path": "/usr/bin/nvidia-container-runtime", "args": []}
    assert "default-runtime" not in config


def test_running_engine_lists_the_runtime(host):
    runtimes = json.loads(host.check_output("docker info --format '{{json .Runtimes}}'"))
    assert "nvidia" in runtimes
    assert "lab-runc" in runtimes


def test_cdi_and_dev_char_links_only_with_a_gpu(host):
    gpu = host.backend.get_hostname().endswith("debian13")  # the fake PCI tree with a GPU is given to debian13
    assert host.file("/etc/cdi/nvidia.yaml").exists == gpu
    assert host.file("/etc/udev/rules.d/71-nvidia-dev-char.rules").exists == gpu
    if gpu:
        assert "kind: nvidia.com/gpu" in host.file("/etc/cdi/nvidia.yaml").content_string
        assert (
            "create-dev-char-symlinks --create-all"
            in host.file("/etc/udev/rules.d/71-nvidia-dev-char.rules").content_string
        )


def test_lists_emptied_moments_ago_are_refreshed_and_the_install_retried(host):
    """Last, as it changes the node (and leaves it converged again): a node whose toolkit repository the role wrote
    before, with its package lists emptied moments ago (a clean-up step, an image built in a container). The lists'
    folder looks fresh to cache_valid_time while apt knows no package; the role refreshes them and installs."""
    name = host.backend.get_hostname()
    host.run_expect([0], "rm -rf /var/lib/apt/lists/* && apt-get remove -y -q --allow-change-held-packages "
                         "nvidia-container-toolkit")  # fmt: skip
    assert not host.package("nvidia-container-toolkit").is_installed
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    converge = Path(__file__).resolve().parent.parent / "toolkit.yml"  # the toolkit's play of converge.yml
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    run = subprocess.run(["ansible-playbook", "-i", inventory, str(converge), "-l", name],
                         capture_output=True, text=True, timeout=600, env=env, check=False)  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    report = json.loads(run.stdout[run.stdout.index("{") :])
    tasks = [t for play in report["plays"] for t in play["tasks"] if name in t["hosts"]]
    results = {t["task"]["name"].split(" : ")[-1]: t["hosts"][name] for t in tasks}
    # The apt install and its retry are gpufleet.triton.common_os's apt_install tasks (only the toolkit's run here).
    first = results["Install the packages (apt)"]
    assert not first.get("failed") and first["msg"].startswith("No package matching"), first
    assert results["Install the packages after refreshing the package lists (they were empty but recent)"]["changed"]
    assert host.package("nvidia-container-toolkit").version == PIN
    assert "nvidia-container-toolkit" in host.check_output("apt-mark showhold").split()
