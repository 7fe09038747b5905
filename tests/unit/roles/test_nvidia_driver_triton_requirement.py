"""The NGC release -> minimum driver table of gpufleet.triton.nvidia_driver (triton-operations.md)."""

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.gpufleet.triton.plugins.filter.nvidia_driver_triton_requirement import (
    nvidia_driver_triton_requirement as req,
)

IMG = "nvcr.io/nvidia/tritonserver:{}"


@pytest.mark.parametrize(
    ("tag", "minimum", "cuda"),
    [
        ("23.08-py3", 535, "12.2.1"),
        ("24.04-py3", 545, "12.4"),
        ("24.07-py3", 555, "12.5.1"),
        ("24.10-py3", 560, "12.6.2"),
        ("25.02-py3", 560, "12.8.0"),
        ("25.06-py3", 575, "12.9.1"),
        ("25.08-py3", 580, "13.0"),
        ("25.10-py3", 580, "13.0"),
    ],
)
def test_table_rows(tag, minimum, cuda):
    r = req(IMG.format(tag))
    assert (r["known"], r["exact"], r["min_branch"], r["cuda"]) == (True, True, minimum, cuda)


@pytest.mark.parametrize(
    ("tag", "minimum"),
    [("24.05-py3", 555), ("24.08-py3", 560), ("25.03-py3", 575), ("23.05-py3", 535), ("23.10-py3", 545)],
)
def test_releases_between_rows_take_the_stricter_next_row(tag, minimum):
    r = req(IMG.format(tag))
    assert r["min_branch"] == minimum
    assert r["exact"] is False


@pytest.mark.parametrize(
    ("tag", "driver", "ok", "compat"),
    [
        ("24.10-py3", "560.35.03", True, False),
        ("24.10-py3", "570.86.15", True, False),
        ("24.10-py3", "535.261.03", True, True),  # R535 data-center forward compatibility
        ("24.10-py3", "545.23.08", True, True),
        ("24.10-py3", "550.163.01", False, False),  # 550 is neither new enough nor a listed compat branch
        ("24.10-py3", "510.108.03", False, False),
        ("23.08-py3", "450.248.02", True, True),
        ("25.08-py3", "575.57.08", False, False),
        ("25.08-py3", "535.261.03", False, False),
        ("25.08-py3", "580.65.06", True, False),
        ("24.10-py3-lab-cpu", "535", True, True),
    ],
)
def test_driver_verdicts(tag, driver, ok, compat):
    r = req(IMG.format(tag), driver_version=driver)
    assert r["satisfied"] is ok
    assert r["via_forward_compat"] is compat


def test_refusal_names_both_versions():
    r = req(IMG.format("25.08-py3"), driver_version="535.261.03")
    assert "535.261.03" in r["message"]
    assert "580 or later" in r["message"]
    assert "25.08-py3" in r["message"]


def test_forward_compat_can_be_refused():
    assert req(IMG.format("24.10-py3"), driver_version="535.261.03", forward_compat=False)["satisfied"] is False


def test_variants_without_a_row_fall_back_to_the_release_and_say_so():
    r = req(IMG.format("24.10-trtllm-python-py3"), driver_version="560.35.03")
    assert r["variant"] == "trtllm-python-py3"
    assert r["exact"] is False
    assert r["satisfied"] is True
    assert "no exact row" in r["message"]


def test_table_rows_keyed_by_full_tag_override():
    table = {"24.10-vllm-python-py3": {"min_branch": 570, "compat_branches": [], "cuda": "12.8"}}
    r = req(IMG.format("24.10-vllm-python-py3"), driver_version="560.35.03", table=table)
    assert (r["min_branch"], r["exact"], r["satisfied"]) == (570, True, False)
    # the -py3 image of the same release is untouched
    assert req(IMG.format("24.10-py3"), table=table)["min_branch"] == 560


@pytest.mark.parametrize(
    "image",
    ["nvcr.io/nvidia/tritonserver", "nvcr.io/nvidia/tritonserver:latest", "localhost:5000/tritonserver@sha256:abc"],
)
def test_images_without_a_release_tag_are_unknown(image):
    r = req(image, driver_version="535")
    assert r["known"] is False
    assert r["satisfied"] is None
    assert "nvidia_driver_triton_min_branch" in r["message"]


def test_registry_port_and_digest_are_parsed():
    r = req("registry.local:5000/nvidia/tritonserver:24.07-py3@sha256:0123", driver_version="555.42.06")
    assert (r["release"], r["satisfied"]) == ("24.07", True)


def test_empty_image_is_an_error():
    with pytest.raises(AnsibleFilterError):
        req("")
