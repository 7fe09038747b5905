"""The nvidia_driver_packages filter on NVSwitch hosts (request keys nvswitch, nvlink5): NVIDIA's fabric manager and
its NSCQ library at exactly the driver's version, held with it, in the package names each repository uses; and the
refusals, each naming the variable to change, before any package is chosen.

Package names follow NVIDIA's own driver containers (github.com/NVIDIA/gpu-driver-container, install.sh for Ubuntu
24.04 and RHEL 9): apt nvidia-fabricmanager-<branch>/libnvidia-nscq-<branch>, unsuffixed from branch 580; dnf
nvidia-fabric-manager/libnvidia-nscq-<branch> before 580, nvidia-fabricmanager/libnvidia-nscq from 580; nvlsm and
infiniband-diags beside them on NVLink5 switch systems."""

from __future__ import annotations

import pytest
from ansible_collections.gpufleet.triton.plugins.filter.nvidia_driver_packages import nvidia_driver_packages

KERNEL = "6.8.0-51-generic"
BASE = {
    "debian": {
        "flavor": "debian",
        "default_branch": "535",
        "tesla_branches": ["470", "535"],
        "distribution_major": "12",
    },
    "ubuntu": {"flavor": "ubuntu", "default_branch": "570", "distribution_major": "24"},
    "redhat": {"flavor": "redhat", "default_branch": "570", "distribution_major": "9"},
}


def select(flavor, repo, branch="570", version="570.133.20", **extra):
    request = {
        **BASE[flavor],
        "repo": repo,
        "branch": branch,
        "package_version": version,
        "kernel_module": "proprietary",
        "headless": True,
        "headers": False,
        "kernel": KERNEL,
        "nvswitch": True,
        **extra,
    }
    return nvidia_driver_packages(request)


@pytest.mark.parametrize("flavor", ["debian", "ubuntu"])
@pytest.mark.parametrize("repo", ["cuda", "local"])
def test_cuda_repository_installs_and_holds_the_fabric_manager_at_the_drivers_version(flavor, repo):
    sel = select(flavor, repo)
    assert sel["error"] == ""
    assert sel["packages"] == [
        "cuda-drivers-570=570.133.20*",
        "nvidia-fabricmanager-570=570.133.20*",
        "libnvidia-nscq-570=570.133.20*",
    ]
    assert sel["hold"] == ["cuda-drivers-570", "nvidia-fabricmanager-570", "libnvidia-nscq-570"]
    assert sel["fabricmanager_package"] == "nvidia-fabricmanager-570"
    assert sel["main_package"] == "cuda-drivers-570"


def test_open_modules_get_the_same_fabric_manager():
    sel = select("ubuntu", "cuda", kernel_module="open")
    assert sel["packages"][0] == "nvidia-open-570=570.133.20*"
    assert "nvidia-fabricmanager-570=570.133.20*" in sel["packages"]


def test_cuda_repository_names_them_without_the_branch_from_580():
    sel = select("ubuntu", "cuda", branch="580", version="580.95.05")
    assert sel["packages"][1:] == ["nvidia-fabricmanager=580.95.05*", "libnvidia-nscq=580.95.05*"]
    assert sel["hold"][1:] == ["nvidia-fabricmanager", "libnvidia-nscq"]
    assert sel["fabricmanager_package"] == "nvidia-fabricmanager"


@pytest.mark.parametrize("branch", ["570", "580"])
def test_ubuntu_archive_keeps_the_branch_in_the_names(branch):
    sel = select("ubuntu", "distro", branch=branch, version=branch + ".195.03")
    assert sel["error"] == ""
    assert sel["main_package"] == f"nvidia-headless-{branch}-server"
    assert sel["packages"][-2:] == [
        f"nvidia-fabricmanager-{branch}={branch}.195.03*",
        f"libnvidia-nscq-{branch}={branch}.195.03*",
    ]
    assert sel["hold"][-2:] == [f"nvidia-fabricmanager-{branch}", f"libnvidia-nscq-{branch}"]


@pytest.mark.parametrize(
    ("branch", "fabricmanager", "nscq"),
    [("570", "nvidia-fabric-manager", "libnvidia-nscq-570"), ("580", "nvidia-fabricmanager", "libnvidia-nscq")],
)
def test_redhat_module_stream_with_the_fabric_manager_of_the_branch(branch, fabricmanager, nscq):
    version = branch + ".133.20"
    sel = select("redhat", "cuda", branch=branch, version=version)
    assert sel["error"] == ""
    assert sel["packages"] == [
        f"@nvidia-driver:{branch}-dkms",
        f"nvidia-driver-{version}",
        f"{fabricmanager}-{version}",
        f"{nscq}-{version}",
    ]
    assert sel["hold"][-2:] == [fabricmanager, nscq]
    assert "nvidia-driver" in sel["hold"]
    assert sel["fabricmanager_package"] == fabricmanager


@pytest.mark.parametrize("repo", ["distro", "none"])
def test_debians_own_driver_has_no_fabric_manager(repo):
    sel = select("debian", repo, branch="535", version="535.261.03")
    assert sel["packages"] == [] and sel["hold"] == []
    assert "Debian does not package" in sel["error"]
    assert f"nvidia_driver_repo={repo}" in sel["error"]
    assert "nvidia_driver_repo=cuda (NVIDIA's CUDA repository, or a mirror of it) or local" in sel["error"]


def test_a_host_without_nvswitches_gets_no_fabric_manager():
    for nvswitch in (False, "false", "no", 0):
        sel = select("debian", "distro", branch="535", version="", nvswitch=nvswitch)
        assert sel["error"] == ""
        assert not any("fabric" in name or "nscq" in name for name in sel["packages"] + sel["hold"])
        assert sel["fabricmanager_package"] == ""
    request = {**BASE["ubuntu"], "repo": "distro", "branch": "570"}
    assert nvidia_driver_packages(request)["fabricmanager_package"] == ""


@pytest.mark.parametrize("flavor", ["ubuntu", "redhat"])
def test_the_fabric_manager_needs_an_exact_driver_version(flavor):
    sel = select(flavor, "cuda", version="")
    assert sel["packages"] == []
    assert sel["error"].startswith("nvidia_driver_package_version is empty on a host with NVSwitches")
    assert "such as 570.133.20" in sel["error"]


def test_nvlink5_adds_nvlsm_unpinned_and_unheld():
    sel = select("ubuntu", "cuda", nvlink5=True)
    assert sel["error"] == ""
    assert sel["packages"] == [
        "cuda-drivers-570=570.133.20*",
        "nvidia-fabricmanager-570=570.133.20*",
        "libnvidia-nscq-570=570.133.20*",
        "nvlsm",
        "infiniband-diags",
    ]
    assert "nvlsm" not in sel["hold"]
    assert select("redhat", "local", nvlink5=True)["packages"][-2:] == ["nvlsm", "infiniband-diags"]


def test_nvlink5_needs_branch_570():
    sel = select("ubuntu", "cuda", branch="550", version="550.163.01", nvlink5=True)
    assert sel["error"] == "nvidia_driver_branch=550: NVLink5 switch systems (HGX B200/B300) need branch 570 or later"


def test_nvlink5_needs_nvidias_repository():
    sel = select("ubuntu", "distro", nvlink5=True)
    assert "nvlsm only NVIDIA's CUDA repository serves: nvidia_driver_repo=distro" in sel["error"]


@pytest.mark.parametrize("key", ["nvswitch", "nvlink5"])
def test_a_flag_that_is_not_a_boolean_is_refused(key):
    sel = select("ubuntu", "cuda", **{key: "maybe"})
    assert sel["packages"] == []
    assert sel["error"] == f"nvidia_driver_fabricmanager: the request's {key}='maybe' is not a boolean (true or false)"


def test_headers_still_follow_the_driver():
    sel = select("ubuntu", "cuda", headers=True)
    assert sel["headers"] == [f"linux-headers-{KERNEL}"]
    assert all("linux-headers" not in name for name in sel["packages"])
