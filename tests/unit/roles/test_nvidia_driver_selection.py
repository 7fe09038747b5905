"""Per-OS package and branch selection of gpufleet.triton.nvidia_driver, over a matrix of fake ansible_facts.

The role loads vars/<os_family>.yml, then vars/<distribution>.yml, then vars/<distribution>_<major>.yml, and hands the
result to the nvidia_driver_packages filter; this test does the same, so the RHEL-family and Ubuntu paths that no
lab instance runs are covered too.
"""

from pathlib import Path

import pytest
import yaml
from ansible_collections.gpufleet.triton.plugins.filter.nvidia_driver_packages import nvidia_driver_packages

ROLE = Path(__file__).resolve().parents[3] / "roles" / "nvidia_driver"

FACTS = {
    "debian12": {"os_family": "Debian", "distribution": "Debian", "distribution_major_version": "12"},
    "debian13": {"os_family": "Debian", "distribution": "Debian", "distribution_major_version": "13"},
    "ubuntu2404": {"os_family": "Debian", "distribution": "Ubuntu", "distribution_major_version": "24"},
    "rocky9": {"os_family": "RedHat", "distribution": "Rocky", "distribution_major_version": "9"},
    "rhel8": {"os_family": "RedHat", "distribution": "RedHat", "distribution_major_version": "8"},
}
KERNEL = "6.1.0-28-amd64"


def platform_vars(facts):
    merged = {}
    for name in (
        f"{facts['os_family']}.yml",
        f"{facts['distribution']}.yml",
        f"{facts['distribution']}_{facts['distribution_major_version']}.yml",
    ):
        path = ROLE / "vars" / name
        if path.is_file():
            merged.update(yaml.safe_load(path.read_text()) or {})
    return merged


def select(host, **overrides):
    facts = FACTS[host]
    pv = platform_vars(facts)
    request = {
        "flavor": pv["__nvidia_driver_flavor"],
        "repo": "distro",
        "branch": "",
        "default_branch": pv["__nvidia_driver_default_branch"],
        "tesla_branches": pv["__nvidia_driver_tesla_branches"],
        "package_version": "",
        "kernel_module": "proprietary",
        "headless": True,
        "headers": True,
        "kernel": KERNEL,
        "distribution_major": facts["distribution_major_version"],
    }
    request.update(overrides)
    return nvidia_driver_packages(request)


def test_debian12_default_is_the_distro_535_driver():
    sel = select("debian12")
    assert sel["error"] == ""
    assert sel["branch"] == "535"
    assert sel["packages"] == ["nvidia-driver", "nvidia-kernel-dkms", "nvidia-smi", "nvidia-persistenced"]
    assert sel["hold"] == sel["packages"]
    assert sel["headers"] == [f"linux-headers-{KERNEL}"]
    assert sel["main_package"] == "nvidia-driver"
    assert sel["module_stream"] == ""


def test_debian13_default_is_550():
    assert select("debian13")["branch"] == "550"


@pytest.mark.parametrize(("host", "branch"), [("debian12", "470"), ("debian13", "535")])
def test_debian_tesla_branches(host, branch):
    sel = select(host, branch=branch)
    assert sel["error"] == ""
    assert sel["packages"] == [
        f"nvidia-tesla-{branch}-driver",
        f"nvidia-tesla-{branch}-kernel-dkms",
        f"nvidia-tesla-{branch}-smi",
        "nvidia-persistenced",
    ]
    assert sel["main_package"] == f"nvidia-tesla-{branch}-driver"


def test_debian_open_modules():
    sel = select("debian12", kernel_module="open")
    assert "nvidia-open-kernel-dkms" in sel["packages"]
    assert "nvidia-kernel-dkms" not in sel["packages"]


def test_debian_open_modules_refused_for_tesla_branch():
    assert "nvidia_driver_kernel_module=proprietary" in select("debian13", branch="535", kernel_module="open")["error"]


@pytest.mark.parametrize(("host", "branch"), [("debian12", "570"), ("debian13", "470")])
def test_debian_branch_not_packaged_names_the_alternatives(host, branch):
    error = select(host, branch=branch)["error"]
    assert f"nvidia_driver_branch={branch}" in error
    assert "nvidia_driver_repo=cuda" in error and "or local" in error


@pytest.mark.parametrize("host", ["debian12", "debian13", "ubuntu2404"])
@pytest.mark.parametrize("repo", ["cuda", "local"])
def test_nvidia_repositories_serve_any_branch_under_cuda_names(host, repo):
    # cuda and local hold NVIDIA's packages: a branch Debian does not package is served, under NVIDIA's names.
    sel = select(host, repo=repo, branch="560", package_version="560.35.03")
    assert sel["error"] == ""
    assert sel["packages"] == ["cuda-drivers-560=560.35.03*"]
    assert sel["hold"] == ["cuda-drivers-560"]
    assert sel["main_package"] == "cuda-drivers-560"


def test_debian_exact_version_pins_the_driver_packages_not_persistenced():
    sel = select("debian12", package_version="535.261.03")
    assert sel["packages"] == [
        "nvidia-driver=535.261.03*",
        "nvidia-kernel-dkms=535.261.03*",
        "nvidia-smi=535.261.03*",
        "nvidia-persistenced",
    ]
    assert sel["hold"] == ["nvidia-driver", "nvidia-kernel-dkms", "nvidia-smi", "nvidia-persistenced"]


def test_version_outside_the_branch_is_refused():
    assert "does not belong to branch 535" in select("debian12", package_version="550.163.01")["error"]


@pytest.mark.parametrize("branch", ["53", "5350", "r535", "latest"])
def test_malformed_branch_is_refused(branch):
    assert "nvidia_driver_branch" in select("debian12", branch=branch)["error"]


def test_headers_can_be_left_out():
    assert select("debian12", headers=False)["headers"] == []


@pytest.mark.parametrize(("host", "repo"), [("debian12", "cuda"), ("ubuntu2404", "cuda")])
def test_cuda_repo_on_apt(host, repo):
    sel = select(host, repo=repo, branch="570")
    assert sel["packages"] == ["cuda-drivers-570"]
    assert select(host, repo=repo, branch="570", kernel_module="open")["packages"] == ["nvidia-open-570"]


def test_ubuntu_default_is_headless_server_570():
    sel = select("ubuntu2404")
    assert sel["branch"] == "570"
    assert sel["packages"] == ["nvidia-headless-570-server", "nvidia-utils-570-server"]
    assert sel["headers"] == [f"linux-headers-{KERNEL}"]


def test_ubuntu_full_open_driver_pinned():
    sel = select("ubuntu2404", branch="550", headless=False, kernel_module="open", package_version="550.127.05")
    assert sel["packages"] == ["nvidia-driver-550-server-open=550.127.05*"]
    assert sel["hold"] == ["nvidia-driver-550-server-open"]


@pytest.mark.parametrize("host", ["rocky9", "rhel8"])
def test_redhat_module_stream(host):
    sel = select(host, repo="cuda")
    assert sel["error"] == ""
    assert sel["module_stream"] == "nvidia-driver:570-dkms"
    assert sel["packages"] == ["@nvidia-driver:570-dkms"]
    assert "kmod-nvidia-latest-dkms" in sel["hold"]
    assert sel["headers"] == [f"kernel-devel-{KERNEL}", f"kernel-headers-{KERNEL}"]


def test_redhat_open_stream_with_exact_version():
    sel = select("rocky9", repo="local", branch="560", kernel_module="open", package_version="560.35.03")
    assert sel["module_stream"] == "nvidia-driver:560-open"
    assert sel["packages"] == ["@nvidia-driver:560-open", "nvidia-driver-560.35.03"]
    assert "kmod-nvidia-open-dkms" in sel["hold"]


def test_redhat_has_no_distro_driver():
    assert "nvidia_driver_repo=cuda" in select("rocky9")["error"]


def test_redhat_10_is_not_supported():
    sel = nvidia_driver_packages(
        {"flavor": "redhat", "repo": "cuda", "branch": "570", "distribution_major": "10", "kernel": KERNEL}
    )
    assert "EL 8 and 9" in sel["error"]


@pytest.mark.parametrize(
    ("request_", "needle"),
    [
        ("not a dict", "must be a dict"),
        ({"flavor": "arch", "repo": "distro", "branch": "535"}, "unsupported platform flavor"),
        ({"flavor": "debian", "repo": "ppa", "branch": "535"}, "nvidia_driver_repo="),
    ],
)
def test_bad_requests(request_, needle):
    assert needle in nvidia_driver_packages(request_)["error"]


@pytest.mark.parametrize("host", sorted(FACTS))
def test_every_platform_declares_what_the_role_reads(host):
    pv = platform_vars(FACTS[host])
    for key in (
        "__nvidia_driver_flavor",
        "__nvidia_driver_pkg_mgr",
        "__nvidia_driver_initramfs_command",
        "__nvidia_driver_default_branch",
        "__nvidia_driver_tesla_branches",
        "__nvidia_driver_distro_components",
        "__nvidia_driver_cuda_repo_distro",
        "__nvidia_driver_cuda_key_file",
    ):
        assert key in pv, key
