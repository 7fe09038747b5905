# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: nvidia_driver_packages
short_description: Choose the NVIDIA driver packages, branch, module stream and holds for one host
version_added: 0.1.0
description:
  - The selection logic of the P(gpufleet.triton.nvidia_driver#role) role, kept in one place so that every platform,
    including those no test instance can run (RHEL family), is covered by unit tests.
  - Never raises for a bad combination; returns RV(_value.error) with a message naming the variable to change.
author:
  - gpufleet.triton maintainers
options:
  _input:
    description:
      - The selection request. Keys C(flavor) (V(debian), V(ubuntu) or V(redhat)), C(repo) (V(distro), V(cuda),
        V(local) or V(none); V(cuda) and V(local) hold NVIDIA's own packages, named as in its CUDA repository),
        C(branch) (empty for the platform's default), C(default_branch),
        C(tesla_branches) (Debian),
        C(package_version) (empty or an upstream version such as V(535.261.03)), C(kernel_module) (V(proprietary) or
        V(open)), C(headless) (bool), C(headers) (bool), C(kernel) (the running kernel release) and
        C(distribution_major).
      - C(headless) and C(headers) are read as Ansible reads a boolean (the string V(false) is false); a value that is
        not one, a malformed C(package_version) or C(kernel) (a blank or a newline would reach the package manager),
        or a C(tesla_branches) that is not a list gives RV(_value.error) naming the variable.
      - C(nvswitch) (bool, default false) adds NVIDIA's fabric manager and its NSCQ library, pinned to
        C(package_version) and held with the driver, so that one package transaction moves all of them (the fabric
        manager refuses to run beside a driver of another version). It needs C(package_version) (an exact version is
        the only way to install both at one version before either changes) and NVIDIA's package names, which NVIDIA's
        CUDA repository (and Ubuntu's archive) have and Debian's own repository has not.
      - C(nvlink5) (bool, default false) adds C(nvlsm), NVIDIA's NVLink subnet manager, and C(infiniband-diags), which
        the fabric manager of NVLink5 switch systems (HGX B200/B300) starts; they come from NVIDIA's CUDA repository,
        for branch 570 and later, and keep their own version line (neither pinned nor held).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Select the packages for this host
  ansible.builtin.set_fact:
    selection: >-
      {{ {'flavor': 'debian', 'repo': 'distro', 'branch': '', 'default_branch': '535', 'tesla_branches': ['470', '535'],
          'package_version': '', 'kernel_module': 'proprietary', 'headless': true, 'headers': true,
          'kernel': ansible_facts['kernel'], 'distribution_major': '12'} | gpufleet.triton.nvidia_driver_packages }}

- name: An HGX H100 host (NVSwitches) on NVIDIA's CUDA repository, driver and fabric manager at one version
  ansible.builtin.set_fact:
    selection: >-
      {{ {'flavor': 'ubuntu', 'repo': 'cuda', 'branch': '570', 'package_version': '570.133.20',
          'kernel_module': 'open', 'headers': false, 'nvswitch': true} | gpufleet.triton.nvidia_driver_packages }}
"""

RETURN = r"""
_value:
  description: The selection.
  type: dict
  contains:
    error:
      description: Empty when the request can be served, else why not.
      type: str
    branch:
      description: The driver branch that will be installed, for example V(535).
      type: str
    packages:
      description: Package specifications to install (with the version where one is pinned).
      type: list
      elements: str
    hold:
      description: Package names to hold (apt-mark hold) or version-lock (dnf versionlock).
      type: list
      elements: str
    headers:
      description: Kernel header packages DKMS needs for the running kernel (empty when not wanted).
      type: list
      elements: str
    module_stream:
      description: The dnf module stream (RHEL family), else empty.
      type: str
    main_package:
      description: The package whose installed version is the driver version.
      type: str
    fabricmanager_package:
      description: The fabric manager's package (with C(nvswitch)), whose installed version must be the driver's; else
        empty.
      type: str
"""

import re

from ansible.module_utils.parsing.convert_bool import boolean

_BRANCH = re.compile(r"[0-9]{3}\Z")
# An upstream driver version after "<branch>.", as apt and dnf take it in a package spec (no blank, no newline).
_VERSION_REST = re.compile(r"[0-9][0-9A-Za-z.+~-]*\Z")
# A kernel release as it ends a headers package's name (linux-headers-<release>, kernel-devel-<release>).
_KERNEL = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+~_-]*\Z")
_FLAVORS = ("debian", "ubuntu", "redhat")
_REPOS = ("distro", "cuda", "local", "none")
_KERNEL_MODULES = ("proprietary", "open")
# Repositories that hold NVIDIA's own packages (CUDA names such as cuda-drivers-570): NVIDIA's CUDA repository or a
# mirror of it, and a local repository (NVIDIA's driver local repository, an offline folder of its packages). A
# mirror of the distribution itself is repo=distro with a mirror URL.
_NVIDIA_LAYOUT = ("cuda", "local")
# request key -> the role variable a user sets, for the messages
_BOOLEANS = (("headless", "nvidia_driver_headless"), ("headers", "nvidia_driver_install_kernel_headers"))


def _result(**kwargs):
    result = {
        "error": "",
        "branch": "",
        "packages": [],
        "hold": [],
        "headers": [],
        "module_stream": "",
        "main_package": "",
        "fabricmanager_package": "",
    }
    result.update(kwargs)
    return result


def _apt_pin(names, versioned, version):
    if not version:
        return list(names)
    return ["%s=%s*" % (name, version) if name in versioned else name for name in names]


def _debian(req, branch, version):
    repo = req["repo"]
    default = str(req.get("default_branch") or "")
    tesla = [str(b) for b in req.get("tesla_branches") or []]
    open_modules = req.get("kernel_module") == "open"
    if repo in _NVIDIA_LAYOUT:
        return _cuda_apt(branch, version, open_modules)
    if branch == default:
        kernel = "nvidia-open-kernel-dkms" if open_modules else "nvidia-kernel-dkms"
        names = ["nvidia-driver", kernel, "nvidia-smi", "nvidia-persistenced"]
        versioned = ["nvidia-driver", kernel, "nvidia-smi"]
        main = "nvidia-driver"
    elif branch in tesla:
        if open_modules:
            return _result(
                error="Debian ships no open kernel modules for its Tesla %s branch: set "
                "nvidia_driver_kernel_module=proprietary, or nvidia_driver_branch=%s" % (branch, default)
            )
        prefix = "nvidia-tesla-%s" % branch
        names = [prefix + "-driver", prefix + "-kernel-dkms", prefix + "-smi", "nvidia-persistenced"]
        versioned = names[:3]
        main = prefix + "-driver"
    else:
        return _result(
            error="nvidia_driver_branch=%s is not packaged by this Debian release, which offers %s "
            "(nvidia-driver) and the Tesla branches %s; choose one of those, or take NVIDIA's packages, which "
            "carry every branch: nvidia_driver_repo=cuda (NVIDIA's CUDA repository, or a mirror of it at "
            "nvidia_driver_cuda_repo_url) or local (NVIDIA's driver local repository or an offline folder of its "
            "packages)" % (branch, default, ", ".join(tesla) or "none")
        )
    return _result(branch=branch, packages=_apt_pin(names, versioned, version), hold=names, main_package=main)


def _cuda_apt(branch, version, open_modules):
    main = ("nvidia-open-%s" if open_modules else "cuda-drivers-%s") % branch
    return _result(branch=branch, packages=_apt_pin([main], [main], version), hold=[main], main_package=main)


def _ubuntu(req, branch, version):
    open_modules = req.get("kernel_module") == "open"
    if req["repo"] in _NVIDIA_LAYOUT:
        return _cuda_apt(branch, version, open_modules)
    suffix = "-server-open" if open_modules else "-server"
    if _flag(req, "headless", "")[0]:
        names = ["nvidia-headless-%s%s" % (branch, suffix), "nvidia-utils-%s-server" % branch]
    else:
        names = ["nvidia-driver-%s%s" % (branch, suffix)]
    return _result(branch=branch, packages=_apt_pin(names, names, version), hold=names, main_package=names[0])


def _redhat(req, branch, version):
    major = str(req.get("distribution_major") or "")
    if req["repo"] == "distro":
        return _result(
            error="the RHEL family has no NVIDIA driver in its own repositories: set "
            "nvidia_driver_repo=cuda, or local for a mirror of NVIDIA's CUDA repository"
        )
    if major not in ("8", "9"):
        return _result(
            error="the dnf module streams of NVIDIA's CUDA repository are supported here on EL 8 and 9 "
            "only, not on EL %r (ansible_facts['distribution_major_version'])" % major
        )
    kind = "open" if req.get("kernel_module") == "open" else "dkms"
    stream = "nvidia-driver:%s-%s" % (branch, kind)
    packages = ["@" + stream]
    if version:
        packages.append("nvidia-driver-%s" % version)
    kmod = "kmod-nvidia-open-dkms" if kind == "open" else "kmod-nvidia-latest-dkms"
    hold = [
        "nvidia-driver",
        "nvidia-driver-libs",
        "nvidia-driver-cuda",
        "nvidia-driver-cuda-libs",
        kmod,
        "nvidia-persistenced",
    ]
    return _result(branch=branch, packages=packages, hold=hold, module_stream=stream, main_package="nvidia-driver")


# Driver packages of NVIDIA's CUDA repository (apt): the fabric manager's names there are NVIDIA's own.
_CUDA_DRIVER_PREFIXES = ("cuda-drivers-", "nvidia-open-")
# From branch 580 NVIDIA's CUDA repository names these packages without the branch (Ubuntu's archive keeps it).
_UNSUFFIXED_FROM = 580
# NVLink5 switch systems (HGX B200/B300) need branch 570 or later, and nvlsm beside the fabric manager.
_NVLINK5_FROM = 570


def _fabric_names(flavor, branch, cuda_names):
    """(fabric manager, NSCQ library) package names for the branch, as the repository names them."""
    if (flavor == "redhat" or cuda_names) and int(branch) >= _UNSUFFIXED_FROM:
        return "nvidia-fabricmanager", "libnvidia-nscq"
    if flavor == "redhat":
        return "nvidia-fabric-manager", "libnvidia-nscq-" + branch
    return "nvidia-fabricmanager-" + branch, "libnvidia-nscq-" + branch


def _fabric(req, flavor, branch, version, result):
    """result with the fabric manager (nvswitch) and nvlsm (nvlink5) added, or an error naming what to change."""
    wanted = {}
    for key, variable in (("nvswitch", "nvidia_driver_fabricmanager"), ("nvlink5", "nvidia_driver_fabricmanager")):
        value = req.get(key, False)
        try:
            wanted[key] = boolean(value, strict=True)
        except TypeError:
            return _result(error="%s: the request's %s=%r is not a boolean (true or false)" % (variable, key, value))
    if not (wanted["nvswitch"] or wanted["nvlink5"]):
        return result
    repo = req["repo"]
    cuda_names = flavor == "redhat" or result["main_package"].startswith(_CUDA_DRIVER_PREFIXES)
    if flavor == "debian" and not cuda_names:
        return _result(
            error="this host has NVSwitches, whose fabric manager (nvidia-fabricmanager, at exactly the driver's "
            "version) Debian does not package: nvidia_driver_repo=%s installs Debian's own driver. Set "
            "nvidia_driver_repo=cuda (NVIDIA's CUDA repository, or a mirror of it) or local (NVIDIA's driver local "
            "repository, or an offline folder of its packages), which serve both" % repo
        )
    if wanted["nvlink5"] and not cuda_names:
        return _result(
            error="this host is an NVLink5 switch system (HGX B200/B300), whose nvlsm only NVIDIA's CUDA repository "
            "serves: nvidia_driver_repo=%s; set nvidia_driver_repo=cuda or local (NVIDIA's packages)" % repo
        )
    if wanted["nvlink5"] and int(branch) < _NVLINK5_FROM:
        return _result(
            error="nvidia_driver_branch=%s: NVLink5 switch systems (HGX B200/B300) need branch %d or later"
            % (branch, _NVLINK5_FROM)
        )
    if not version:
        return _result(
            error="nvidia_driver_package_version is empty on a host with NVSwitches: the fabric manager runs only "
            "beside a driver of exactly its version, and only an exact version installs both at one version before "
            "either changes. Set it to a %s.x.y version your repository has for both the driver and the fabric "
            "manager (such as %s.133.20)" % (branch, branch)
        )
    fabricmanager, nscq = _fabric_names(flavor, branch, cuda_names)
    if flavor == "redhat":
        pinned = ["%s-%s" % (fabricmanager, version), "%s-%s" % (nscq, version)]
    else:
        pinned = _apt_pin([fabricmanager, nscq], [fabricmanager, nscq], version)
    # nvlsm has a version line of its own (not the driver's): installed with the fabric manager, never pinned.
    unpinned = ["nvlsm", "infiniband-diags"] if wanted["nvlink5"] else []
    result = dict(result)
    result["packages"] = result["packages"] + pinned + unpinned
    result["hold"] = result["hold"] + [fabricmanager, nscq]
    result["fabricmanager_package"] = fabricmanager
    return result


def _flag(req, key, variable):
    """(value, error): a request's boolean as Ansible reads it ('false' is false), or an error naming the variable."""
    value = req.get(key, True)
    try:
        return boolean(value, strict=True), ""
    except TypeError:
        return None, "%s=%r: expected a boolean (true or false)" % (variable, value)


def _request_error(req):
    """Why the request's values cannot make package names, or an empty string."""
    if req.get("kernel_module") not in (None, "", *_KERNEL_MODULES):
        return "nvidia_driver_kernel_module=%r: expected one of %s" % (req["kernel_module"], ", ".join(_KERNEL_MODULES))
    tesla = req.get("tesla_branches")
    if tesla is not None and not (isinstance(tesla, list) and all(isinstance(b, (str, int)) for b in tesla)):
        return "the Debian release's tesla_branches must be a list of driver branches, got %r" % (tesla,)
    for key, variable in _BOOLEANS:
        error = _flag(req, key, variable)[1]
        if error:
            return error
    return ""


def nvidia_driver_packages(req):
    if not isinstance(req, dict):
        return _result(error="the selection request must be a dict, got %s" % type(req).__name__)
    flavor = req.get("flavor")
    repo = req.get("repo")
    if flavor not in _FLAVORS:
        return _result(error="unsupported platform flavor %r (expected one of %s)" % (flavor, ", ".join(_FLAVORS)))
    if repo not in _REPOS:
        return _result(error="nvidia_driver_repo=%r: expected one of %s" % (repo, ", ".join(_REPOS)))
    error = _request_error(req)
    if error:
        return _result(error=error)
    branch = str(req.get("branch") or req.get("default_branch") or "")
    if not _BRANCH.match(branch):
        return _result(error="nvidia_driver_branch=%r: expected a driver branch such as 535 or 570" % branch)
    version = str(req.get("package_version") or "")
    if version and not version.startswith(branch + "."):
        return _result(error="nvidia_driver_package_version=%s does not belong to branch %s" % (version, branch))
    if version and not _VERSION_REST.match(version[len(branch) + 1 :]):
        return _result(
            error="nvidia_driver_package_version=%r: expected an upstream version such as %s.261.03" % (version, branch)
        )
    result = {"debian": _debian, "ubuntu": _ubuntu, "redhat": _redhat}[flavor](req, branch, version)
    if not result["error"]:
        result = _fabric(req, flavor, branch, version, result)
    kernel = req.get("kernel")
    if not result["error"] and _flag(req, "headers", "")[0] and kernel:
        if not (isinstance(kernel, str) and _KERNEL.match(kernel)):
            return _result(
                error="the running kernel release %r (ansible_facts['kernel']) cannot name a headers package: expected "
                "one such as 6.1.0-27-amd64; or set nvidia_driver_install_kernel_headers=false" % (kernel,)
            )
        if flavor == "redhat":
            result["headers"] = ["kernel-devel-%s" % kernel, "kernel-headers-%s" % kernel]
        else:
            result["headers"] = ["linux-headers-%s" % kernel]
    return result


class FilterModule(object):
    def filters(self):
        return {"nvidia_driver_packages": nvidia_driver_packages}
