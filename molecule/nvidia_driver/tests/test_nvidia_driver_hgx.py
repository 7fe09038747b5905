"""The HGX instance (fake GPUs and NVSwitches) after converge: the STAND-IN driver and fabric manager packages
(files/build-standin.sh) installed from the offline package folder at the pinned version although the folder offers a
newer one, held together, the fabric manager's unit enabled and running, and no pending-reboot marker left once the
node ran the installed driver (converge's second HGX play)."""

testinfra_hosts = ["ansible://hgx"]

VERSION = "570.133.20-1"
PACKAGES = ("cuda-drivers-570", "nvidia-fabricmanager-570", "libnvidia-nscq-570")


def test_the_driver_and_the_fabric_manager_are_at_one_pinned_version(host):
    for name in PACKAGES:
        assert host.package(name).is_installed, name
        assert host.package(name).version == VERSION, name
    offered = host.check_output("apt-cache madison nvidia-fabricmanager-570")
    assert "570.148.08-1" in offered  # the newer version was there to take


def test_they_are_held_together(host):
    held = host.check_output("apt-mark showhold").split()
    assert set(PACKAGES) <= set(held), held
    upgrade = host.check_output("apt-get -s upgrade")
    assert not any(f"Inst {name} " in upgrade for name in PACKAGES), upgrade


def test_the_fabric_manager_runs_and_starts_at_boot(host):
    unit = host.service("nvidia-fabricmanager")
    assert unit.is_enabled and unit.is_running


def test_the_offline_folder_is_the_source(host):
    text = host.file("/etc/apt/sources.list.d/gpufleet-nvidia-driver.sources").content_string
    assert "URIs: file:/srv/nvidia-driver-repo" in text


def test_no_reboot_is_pending_once_the_node_runs_the_installed_driver(host):
    assert not host.file("/var/lib/gpufleet/nvidia-driver-reboot-pending").exists
    assert host.file("/var/lib/gpufleet").mode == 0o700
