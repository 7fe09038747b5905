"""gpufleet.triton.nvidia_driver installed the real Debian packages in an instance without a GPU."""

import pytest

# The HGX instance has tests of its own (test_nvidia_driver_hgx.py).
testinfra_hosts = ["ansible://debian_distro"]

SOURCES = "/etc/apt/sources.list.d/gpufleet-nvidia-driver.sources"


@pytest.fixture
def expected(host):
    codename = host.system_info.codename
    if codename == "bookworm":
        return {"driver": "nvidia-driver", "smi": "nvidia-smi", "kernel": "nvidia-kernel-dkms"}
    return {
        "driver": "nvidia-tesla-535-driver",
        "smi": "nvidia-tesla-535-smi",
        "kernel": "nvidia-tesla-535-kernel-dkms",
    }


def test_non_free_components_added_next_to_the_distribution_sources(host):
    text = host.file(SOURCES).content_string
    codename = host.system_info.codename
    assert f"Suites: {codename}" in text
    assert "Components: contrib non-free non-free-firmware" in text
    assert host.file(SOURCES).mode == 0o644


def test_driver_packages_installed_on_the_535_branch(host, expected):
    for name in (expected["driver"], expected["kernel"], expected["smi"], "nvidia-persistenced"):
        pkg = host.package(name)
        assert pkg.is_installed, name
    assert host.package(expected["driver"]).version.startswith("535.")


def test_driver_packages_held(host, expected):
    held = host.check_output("apt-mark showhold").split()
    for name in (expected["driver"], expected["kernel"], expected["smi"], "nvidia-persistenced"):
        assert name in held, held


def test_no_kernel_headers_in_a_container(host):
    kernel = host.check_output("uname -r")
    assert not host.package(f"linux-headers-{kernel}").is_installed


def test_nouveau_blacklisted(host):
    conf = host.file("/etc/modprobe.d/gpufleet-blacklist-nouveau.conf")
    assert conf.mode == 0o644
    assert "blacklist nouveau" in conf.content_string
    assert "options nouveau modeset=0" in conf.content_string


def test_module_parameters(host):
    conf = host.file("/etc/modprobe.d/gpufleet-nvidia-options.conf")
    assert "options nvidia NVreg_PreserveVideoMemoryAllocations=1" in conf.content_string


def test_persistence_daemon_enabled(host):
    assert host.service("nvidia-persistenced").is_enabled


def test_no_reboot_inside_the_container(host):
    # /run is a tmpfs: a reboot of the instance would have lost the marker prepare left there.
    assert host.file("/run/gpufleet-no-reboot").exists
