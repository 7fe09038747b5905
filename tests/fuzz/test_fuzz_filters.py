"""The nvidia_driver filters on generated inputs of every type: a result of the documented shape, or (where the filter
documents it) an AnsibleFilterError naming the input and what was expected; never another exception."""

from __future__ import annotations

import re

import pytest
from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.gpufleet.triton.plugins.filter.nvidia_driver_packages import nvidia_driver_packages
from ansible_collections.gpufleet.triton.plugins.filter.nvidia_driver_smi_gpus import FIELDS, nvidia_driver_smi_gpus
from ansible_collections.gpufleet.triton.plugins.filter.nvidia_driver_triton_requirement import (
    nvidia_driver_triton_requirement,
)
from hypothesis import assume, given
from hypothesis import strategies as st

# Values of every type a variable can hold (what YAML, JSON and Jinja give a filter), nested.
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**300), max_value=10**300),  # not beyond: hypothesis reprs them (4300 digits at most)
    st.floats(),  # NaN and the infinities included
    st.text(),
    st.text(alphabet="0123456789.-+ \t\n_٣²", max_size=12),
    st.binary(max_size=8),
)
JUNK = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
)
# A package spec or header name handed to apt/dnf: one word, no whitespace or control characters.
PACKAGE = re.compile(r"[@A-Za-z0-9][A-Za-z0-9.+~:=*_-]*\Z")
BOOLISH = st.sampled_from([True, False, "yes", "no", "true", "false", "True", "0", "1", 1, 0, "on", "off"])


def _maybe(strategy):
    """A request key: a usual value, junk of any type, or absent (None here, dropped from the request)."""
    return st.one_of(strategy, JUNK, st.just(None))


REQUEST = st.fixed_dictionaries(
    {
        "flavor": _maybe(st.sampled_from(["debian", "ubuntu", "redhat"])),
        "repo": _maybe(st.sampled_from(["distro", "cuda", "local", "none"])),
        "branch": _maybe(st.sampled_from(["", "535", "550", "470", 535, "5350", "53", "535\n", "535.0"])),
        "default_branch": _maybe(st.sampled_from(["535", "550", 535])),
        "tesla_branches": _maybe(st.sampled_from([["470", "535"], [470], [], "470,535", "535"])),
        "package_version": _maybe(
            st.sampled_from(["", "535.261.03", "535.261.03-1~deb12u1", "550.1", "535.", "535.1 x", "535.1\n"])
        ),
        "kernel_module": _maybe(st.sampled_from(["proprietary", "open"])),
        "headless": _maybe(BOOLISH),
        "headers": _maybe(BOOLISH),
        "kernel": _maybe(st.sampled_from(["6.1.0-27-amd64", "5.15.0-1.el9.x86_64", "", "6.1 evil", "6.1\n"])),
        "distribution_major": _maybe(st.sampled_from(["8", "9", "12", 9, "22"])),
        "nvswitch": _maybe(BOOLISH),
        "nvlink5": _maybe(BOOLISH),
    }
).map(lambda req: {key: value for key, value in req.items() if value is not None})
# Each error names the variable (or the request's part) to change.
NAMED = re.compile(r"nvidia_driver_\w+|platform flavor|selection request|EL [^ ]+ only|tesla_branches|kernel release")
SELECTION = {
    "error": str,
    "branch": str,
    "packages": list,
    "hold": list,
    "headers": list,
    "module_stream": str,
    "main_package": str,
    "fabricmanager_package": str,
}


@given(req=st.one_of(REQUEST, JUNK))
def test_packages_never_raise_and_keep_their_shape(req):
    result = nvidia_driver_packages(req)
    assert set(result) == set(SELECTION) and all(isinstance(result[k], t) for k, t in SELECTION.items()), result
    if result["error"]:
        assert NAMED.search(result["error"]), result["error"]
        assert not result["packages"] and not result["hold"] and not result["headers"], result
        return
    assert re.fullmatch(r"[0-9]{3}", result["branch"]), result
    assert result["packages"] and result["hold"] and result["main_package"], result
    names = result["packages"] + result["hold"] + result["headers"] + [result["main_package"]]
    for name in names + ([result["fabricmanager_package"]] if result["fabricmanager_package"] else []):
        assert isinstance(name, str) and PACKAGE.match(name), f"package {name!r} from {req!r}"
    version = str(req.get("package_version") or "")
    if version:
        assert any(version in spec for spec in result["packages"]), result
    # booleans taken as Ansible takes them ('false' is false), anything else refused
    flags = ("headless", "headers", "nvswitch", "nvlink5")
    assert all(_bool(req[key]) is not None for key in flags if key in req), (req, result)
    # The fabric manager only where asked for, then always at the driver's exact version and held with it.
    fabric = _bool(req.get("nvswitch", False)) or _bool(req.get("nvlink5", False))
    assert bool(result["fabricmanager_package"]) == fabric, (req, result)
    if fabric:
        assert version and result["fabricmanager_package"] in result["hold"], (req, result)
        assert any(spec.startswith(result["fabricmanager_package"]) and version in spec for spec in result["packages"])
    if req.get("flavor") == "ubuntu" and req.get("repo") != "cuda":
        prefix = "nvidia-headless-" if _bool(req.get("headless", True)) else "nvidia-driver-"
        assert result["main_package"].startswith(prefix), (req, result)
    if not _bool(req.get("headers", True)):
        assert result["headers"] == [], (req, result)


FABRIC_REQUEST = st.fixed_dictionaries(
    {
        "flavor": st.sampled_from(["debian", "ubuntu", "redhat"]),
        "repo": st.sampled_from(["distro", "cuda", "local", "none"]),
        "branch": st.sampled_from(["535", "550", "570", "580", "590"]),
        "default_branch": st.sampled_from(["535", "570"]),
        "tesla_branches": st.just(["535"]),
        "patch": st.sampled_from(["", ".133.20", ".95.05", ".261.03-1"]),
        "kernel_module": st.sampled_from(["proprietary", "open"]),
        "headless": BOOLISH,
        "headers": BOOLISH,
        "kernel": st.just("6.1.0-27-amd64"),
        "distribution_major": st.sampled_from(["9", "12", "24"]),
        "nvswitch": BOOLISH,
        "nvlink5": BOOLISH,
    }
)


@given(req=FABRIC_REQUEST)
def test_fabric_manager_comes_only_with_the_drivers_exact_version(req):
    patch = req.pop("patch")
    req["package_version"] = req["branch"] + patch if patch else ""
    result = nvidia_driver_packages(req)
    wanted = _bool(req["nvswitch"]) or _bool(req["nvlink5"])
    fabric = [s for s in result["packages"] if re.match(r"(nvidia-fabric-?manager|libnvidia-nscq)", s)]
    if not wanted:
        assert not fabric and not result["fabricmanager_package"], (req, result)
        return
    base = nvidia_driver_packages({**req, "nvswitch": False, "nvlink5": False})
    if base["error"]:
        assert result["error"] == base["error"], (req, result)  # the driver's own refusal comes first
        return
    cuda_names = req["flavor"] == "redhat" or base["main_package"].startswith(("cuda-drivers-", "nvidia-open-"))
    nvlink5 = _bool(req["nvlink5"])
    refused = {
        "nvidia_driver_repo": (req["flavor"] == "debian" or nvlink5) and not cuda_names,
        "nvidia_driver_branch": nvlink5 and int(req["branch"]) < 570,
        "nvidia_driver_package_version": not req["package_version"],
    }
    if any(refused.values()):
        # Refused before anything is chosen, naming a variable that is the reason.
        assert not result["packages"], (req, result)
        assert any(name in result["error"] for name, why in refused.items() if why), (req, result)
        return
    assert result["error"] == "", (req, result)
    version = req["package_version"]
    assert version, (req, result)
    # The fabric manager and NSCQ: each once, at the driver's version, held with the driver.
    assert len(fabric) == 2 and all(version in spec for spec in fabric), (req, result)
    assert result["fabricmanager_package"] in result["hold"], result
    assert result["main_package"] in result["hold"] or req["flavor"] == "redhat", result
    assert ("nvlsm" in result["packages"]) == bool(_bool(req["nvlink5"])), (req, result)
    assert "nvlsm" not in result["hold"], result


def _bool(value):
    """value as an Ansible boolean, None when it is not one."""
    try:
        return boolean(value, strict=True)
    except TypeError:
        return None


# nvidia-smi's CSV: known fields (with the unit nvidia-smi writes in the header), unknown ones, values good and bad.
HEADER_NAMES = {"index": "index", "memory.total": "memory.total [MiB]"}
GOOD_VALUES = {
    "index": st.integers(0, 64).map(str),
    "name": st.sampled_from(["NVIDIA H200", '"NVIDIA H100, NVL"', "Tesla T4"]),
    "uuid": st.uuids().map(lambda u: f"GPU-{u}"),
    "pci.bus_id": st.sampled_from(["00000000:3B:00.0", "00000000:00:06.0", "00010000:01:00.0"]),
    "driver_version": st.sampled_from(["535.261.03", "580.159.04"]),
    "memory.total": st.integers(0, 200_000).map(str),
}
BAD_VALUE = st.one_of(
    st.sampled_from(["[N/A]", "-1", "1_000", "٣", "²", "1e3", "0x10", "", "143771 MiB", "9" * 5000]),
    st.text(max_size=20),
)


@st.composite
def smi_tables(draw):
    """(CSV text, the GPUs expected or None where the text is not well formed)."""
    fields = draw(st.lists(st.sampled_from(sorted(FIELDS)), min_size=1, max_size=6, unique=True))
    well_formed = True
    header = [HEADER_NAMES.get(name, name) for name in fields]
    if draw(st.integers(0, 9)) == 0:
        header.insert(draw(st.integers(0, len(header))), draw(st.sampled_from(["fan.speed [%]", "power.draw", "x"])))
        well_formed = False
    if draw(st.integers(0, 9)) == 0:
        header.append(header[0])  # a field twice
        well_formed = False
    rows, expected = [], []
    for _ in range(draw(st.integers(0, 4))):
        values = [draw(GOOD_VALUES[name]) for name in fields]
        if draw(st.integers(0, 7)) == 0:
            values[draw(st.integers(0, len(values) - 1))] = draw(BAD_VALUE)
            well_formed = False
        if draw(st.integers(0, 9)) == 0:
            values = values[:-1] if draw(st.booleans()) else [*values, "extra"]
            well_formed = False
        rows.append(", ".join(values))
        expected.append(dict(zip(fields, values)))
    text = "\n".join([", ".join(header), *rows]) + draw(st.sampled_from(["", "\n", "\r\n", "\n\n"]))
    return text, expected if well_formed else None


PCI_GPUS = st.one_of(
    st.just(None),
    st.just([{"pci_address": "0000:3b:00.0", "pci_class": "0x030200", "pci_device_id": "0x2335"}]),
    JUNK,
    st.lists(st.dictionaries(st.sampled_from(["pci_address", "pci_class"]), JUNK), max_size=3),
)


def _check_gpus(gpus):
    assert isinstance(gpus, list) and all(isinstance(gpu, dict) for gpu in gpus), gpus
    for gpu in gpus:
        for key in ("index", "memory_total_mib"):
            if key in gpu:
                assert isinstance(gpu[key], int) and not isinstance(gpu[key], bool) and gpu[key] >= 0, gpu
        for key in ("name", "uuid", "pci_bus_id", "driver_version", "pci_address"):
            if key in gpu:
                assert isinstance(gpu[key], str), gpu


def _smi(text, pci_gpus=None):
    try:
        return nvidia_driver_smi_gpus(text, pci_gpus=pci_gpus)
    except AnsibleFilterError as exc:
        assert str(exc).startswith("nvidia_driver_smi_gpus: "), exc
        assert re.search(r"expected|unknown|not a number|values for|twice|must be", str(exc)), exc
        return exc


@given(table=smi_tables(), pci_gpus=PCI_GPUS)
def test_smi_gpus_reads_what_nvidia_smi_writes_and_refuses_the_rest(table, pci_gpus):
    text, expected = table
    pci_ok = pci_gpus is None or (
        isinstance(pci_gpus, list)
        and all(isinstance(g, dict) and isinstance(g.get("pci_address"), str) for g in pci_gpus)
    )
    result = _smi(text, pci_gpus)
    if isinstance(result, AnsibleFilterError):
        assert expected is None or not pci_ok, (text, pci_gpus, result)
        return
    assert pci_ok, f"pci_gpus {pci_gpus!r} accepted"
    _check_gpus(result)
    if expected is not None:
        assert len(result) == len(expected), (text, result)
        for gpu, values in zip(result, expected):
            if "index" in values:
                assert gpu["index"] == int(values["index"])
            if "name" in values:
                assert gpu["name"] == values["name"].strip('"')
            if "pci.bus_id" in values:
                bus = values["pci.bus_id"]
                assert gpu["pci_address"] == f"{int(bus[:8], 16):04x}{bus[8:].lower()}", gpu


@given(text=st.one_of(st.text(), st.text(alphabet=',"\n\r \\x00[]index', max_size=40), JUNK))
def test_smi_gpus_on_any_text(text):
    result = _smi(text)
    if not isinstance(result, AnsibleFilterError):
        _check_gpus(result)


@pytest.mark.parametrize(
    "text",
    [
        "index, name\n0, " + "x" * 200_000 + "\n",  # a field over csv's limit of 131072 characters
        'index, name\n0, "unclosed\n',
        "index\n" + "9" * 5000 + "\n",  # more digits than int() takes
        "index, index\n0, 1\n",
        "memory.total [MiB]\n-143771\n",
        "index\n\u0663\n",  # an Arabic-Indic three: int() reads it, nvidia-smi never writes it
    ],
)
def test_smi_gpus_refuses_what_nvidia_smi_never_writes(text):
    with pytest.raises(AnsibleFilterError, match=r"^nvidia_driver_smi_gpus: "):
        nvidia_driver_smi_gpus(text)


IMAGES = st.one_of(
    st.sampled_from(
        [
            "nvcr.io/nvidia/tritonserver:24.10-py3",
            "nvcr.io/nvidia/tritonserver:25.08-py3",
            "nvcr.io/nvidia/tritonserver:23.01-py3",
            "nvcr.io/nvidia/tritonserver:24.10-trtllm-python-py3",
            "tritonserver:99.99",
            "registry:5000/tritonserver",
            "nvcr.io/nvidia/tritonserver@sha256:" + "a" * 64,
            "nvcr.io/nvidia/tritonserver:24.10-py3@sha256:" + "a" * 64,
            ":",
            "x:24.1",
        ]
    ),
    st.text(),
    JUNK,
)
DRIVERS = st.one_of(
    st.sampled_from(["", "535.261.03", "535", "560", "580.65.06", " 575.1", "R535", "N/A", "9" * 5000, "-1"]),
    JUNK,
)
TABLES = st.one_of(
    st.none(),
    st.just({}),
    st.dictionaries(
        st.sampled_from(["24.10", "24.10-py3", "25.08"]),
        st.one_of(
            st.fixed_dictionaries(
                {"min_branch": st.sampled_from([550, "550", 0])},
                optional={"compat_branches": st.sampled_from([[470], ["535"], []]), "cuda": st.just("12.6")},
            ),
            st.fixed_dictionaries({"min_branch": JUNK}, optional={"compat_branches": JUNK}),
            JUNK,
        ),
        max_size=2,
    ),
    JUNK,
)
REQUIREMENT = {
    "known": bool,
    "exact": bool,
    "match": str,
    "release": str,
    "variant": str,
    "compat_branches": list,
    "cuda": str,
    "note": str,
    "source": str,
    "warning": str,
    "via_forward_compat": bool,
    "message": str,
}
MATCHES = {"override", "tag", "release", "variant", "gap", "older", "newer", "none"}


@given(image=IMAGES, driver=DRIVERS, forward_compat=st.one_of(BOOLISH, JUNK), table=TABLES)
def test_triton_requirement_answers_or_names_the_bad_input(image, driver, forward_compat, table):
    try:
        req = nvidia_driver_triton_requirement(image, driver_version=driver, forward_compat=forward_compat, table=table)
    except AnsibleFilterError as exc:
        message = str(exc)
        assert message.startswith("nvidia_driver_triton_requirement: "), message
        assert re.search(r"image|driver_version|forward_compat|table", message), message
        assert "expected" in message or "must be" in message, message
        return
    assert all(isinstance(req[key], kind) for key, kind in REQUIREMENT.items()), req
    assert req["min_branch"] is None or (isinstance(req["min_branch"], int) and req["min_branch"] >= 0), req
    assert all(isinstance(b, int) and not isinstance(b, bool) for b in req["compat_branches"]), req
    branch = req["driver_branch"]
    assert branch is None or (type(branch) is int and 0 <= branch < 10**6), req
    assert req["satisfied"] in (None, True, False), req
    # Only a row for exactly this image is an exact answer; every other one says why it is not (never a silent pass).
    assert req["match"] in MATCHES, req
    assert req["exact"] == (req["match"] in ("override", "tag", "release")), req
    assert req["known"] == (req["match"] in ("override", "tag", "release", "variant")), req
    assert bool(req["warning"]) != req["exact"], req
    assert (req["min_branch"] is None) == (req["match"] == "none"), req
    if req["min_branch"] is not None and branch is not None:
        fc = boolean(forward_compat, strict=True)
        want = branch >= req["min_branch"] or (fc and branch in req["compat_branches"])
        assert req["satisfied"] == want, (req, forward_compat)
        assert req["via_forward_compat"] == (want and branch < req["min_branch"]), req
    else:
        assert req["satisfied"] is None, req


@given(
    branch=st.integers(0, 999),
    release=st.sampled_from(["22.01", "23.08", "24.04", "24.09", "24.10", "25.02", "25.08", "26.01", "26.09", "27.12"]),
)
def test_a_newer_branch_never_satisfies_less(branch, release):
    """Monotone outside the forward-compatible branches: what a branch satisfies, the next one does too."""
    image = f"nvcr.io/nvidia/tritonserver:{release}-py3"
    now = nvidia_driver_triton_requirement(image, driver_version=str(branch), forward_compat=False)
    later = nvidia_driver_triton_requirement(image, driver_version=str(branch + 1), forward_compat=False)
    assert not now["satisfied"] or later["satisfied"], (now, later)


@given(
    first=st.tuples(st.integers(20, 29), st.integers(1, 12)),
    second=st.tuples(st.integers(20, 29), st.integers(1, 12)),
    variant=st.sampled_from(["py3", "vllm-python-py3", "trtllm-python-py3", "pyt-python-py3", "py3-min"]),
)
def test_a_later_release_never_needs_an_older_driver(first, second, variant):
    """What the table answers, known or assumed, never falls from one release to a later one (CUDA only grows)."""
    assume(first < second)
    tags = [f"{year:02d}.{month:02d}-{variant}" for year, month in (first, second)]
    early, late = (nvidia_driver_triton_requirement("nvcr.io/nvidia/tritonserver:" + tag) for tag in tags)
    assert early["min_branch"] <= late["min_branch"], (early, late)
