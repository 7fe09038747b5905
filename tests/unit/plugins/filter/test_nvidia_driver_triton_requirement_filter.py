"""The Triton release -> CUDA -> minimum driver table of filter nvidia_driver_triton_requirement
(docs/driver-compatibility.md): its rows, the one-authority rule, and what it answers for images it does not know."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.gpufleet.triton.plugins.filter.nvidia_driver_triton_requirement import (
    nvidia_driver_triton_requirement as req,
)
from ansible_collections.gpufleet.triton.plugins.plugin_utils._triton_driver_table import (
    CUDA_BRANCH,
    FORWARD_COMPAT,
    ROWS,
    TABLE,
)

IMG = "nvcr.io/nvidia/tritonserver:{}"
DOC = Path(__file__).resolve().parents[4] / "docs" / "driver-compatibility.md"

# Every -py3 row: release, CUDA of its release notes, minimum (CUDA's), driver its notes name.
PY3 = [
    ("23.03", "12.1.0", 530, 530),
    ("23.04", "12.1.0", 530, 530),
    ("23.05", "12.1.1", 530, 530),
    ("23.07", "12.1.1", 530, 530),
    ("23.08", "12.2.1", 535, 535),
    ("23.09", "12.2.1", 535, 535),
    ("23.12", "12.3.2", 545, 545),
    ("24.01", "12.3.2", 545, 545),
    ("24.04", "12.4", 550, 545),
    ("24.05", "12.4", 550, 545),
    ("24.06", "12.5.0.23", 555, 545),
    ("24.07", "12.5.1", 555, 555),
    ("24.08", "12.6", 560, 560),
    ("24.10", "12.6.2", 560, 560),
    ("25.01", "12.8.0.038", 570, 560),
    ("25.02", "12.8.0.38", 570, 560),
    ("25.03", "12.8.1.012", 570, 560),
    ("25.04", "12.9.0", 575, 575),
    ("25.06", "12.9.1.010", 575, 575),
    ("25.08", "13.0.0.044", 580, 575),
    ("25.10", "13.0.2.006", 580, 575),
    ("25.12", "13.1.0.36", 590, 575),
    ("26.06", "13.3.0", 610, None),
    ("26.08", "13.4.1", 615, None),
    ("26.09", "13.4.1", 615, None),
]
# Releases from 23.01 to the newest row whose notes were not found (or, 24.03, name no CUDA version), and 25.07,
# which has no -py3 notes: the table has no row for them, on purpose.
GAPS = [
    "23.01", "23.02", "23.06", "23.10", "23.11", "24.02", "24.03", "24.09", "24.11", "24.12", "25.05", "25.07",
    "25.09", "25.11", "26.01", "26.02", "26.03", "26.04", "26.05", "26.07",
]  # fmt: skip
VARIANTS = ["trtllm-python-py3", "vllm-python-py3"]


def months(first, last):
    year, month = map(int, first.split("."))
    while f"{year:02d}.{month:02d}" <= last:
        yield f"{year:02d}.{month:02d}"
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def test_every_release_from_23_01_to_the_newest_has_a_row_or_is_a_listed_gap():
    rows = [key for key in TABLE if "-" not in key]
    assert sorted(set(rows) | set(GAPS)) == list(months("23.01", rows[-1]))
    assert not set(rows) & set(GAPS)


@pytest.mark.parametrize(("release", "cuda", "minimum", "stated"), PY3)
def test_py3_rows(release, cuda, minimum, stated):
    r = req(IMG.format(release + "-py3"))
    assert (r["known"], r["exact"], r["match"], r["cuda"], r["min_branch"]) == (True, True, "release", cuda, minimum)
    assert r["warning"] == ""
    assert TABLE[release]["stated_branch"] == stated
    assert r["source"] == f"Triton {release} release notes"


def test_py3_rows_are_all_the_release_rows():
    assert [(k, TABLE[k]["cuda"]) for k in TABLE if "-" not in k] == [(p[0], p[1]) for p in PY3]


@pytest.mark.parametrize("variant", ["", *VARIANTS])
def test_rows_ascend_and_their_minimum_never_falls(variant):
    keys = [key for key, *_ in ROWS if TABLE[key]["variant"] == variant]
    releases = [TABLE[key]["release"] for key in keys]
    assert releases == sorted(set(releases)), "one row per release, in order"
    minimums = [TABLE[key]["min_branch"] for key in keys]
    assert minimums == sorted(minimums)


def test_one_authority_cuda_decides_the_minimum_and_the_forward_compatible_branches():
    for key, row in TABLE.items():
        minor = ".".join(row["cuda"].split(".")[:2])
        assert row["min_branch"] == CUDA_BRANCH[minor], key
        assert row["compat_branches"] == list(FORWARD_COMPAT.get(minor, ())), key
        assert all(b < row["min_branch"] for b in row["compat_branches"]), key
        assert bool(row["note"]) == (row["stated_branch"] not in (None, row["min_branch"])), key


@pytest.mark.parametrize("release", ["25.01", "25.02", "25.03"])
def test_cuda_12_8_releases_take_570_and_say_their_notes_named_560(release):
    r = req(IMG.format(release + "-py3"), driver_version="560.35.03")
    assert (r["min_branch"], r["satisfied"], r["exact"]) == (570, False, True)
    assert "R560" in r["note"] and "CUDA 12.8 needs R570" in r["note"]
    assert r["note"] in r["message"]
    assert req(IMG.format(release + "-py3"), driver_version="570.124.06")["satisfied"] is True


@pytest.mark.parametrize(("release", "minimum"), [("24.04", 550), ("24.06", 555), ("25.08", 580), ("25.12", 590)])
def test_other_releases_whose_notes_name_an_older_driver_take_cudas(release, minimum):
    r = req(IMG.format(release + "-py3"), driver_version=str(minimum - 1), forward_compat=False)
    assert (r["min_branch"], r["satisfied"]) == (minimum, False)
    assert f"needs R{minimum} or later" in r["note"]


def test_a_release_newer_than_the_newest_row_is_not_exact_and_warns():
    newest = [key for key in TABLE if "-" not in key][-1]
    r = req(IMG.format("27.01-py3"), driver_version="615.61")
    assert (r["known"], r["exact"], r["match"]) == (False, False, "newer")
    assert r["min_branch"] == max(row["min_branch"] for row in TABLE.values())
    assert "does not know release 27.01" in r["warning"] and f"newest row, {newest}" in r["warning"]
    assert "assumed R615" in r["warning"] and r["warning"] in r["message"]
    assert r["cuda"] == "" and r["note"] == ""
    assert r["satisfied"] is True  # still checked, against the minimum it assumed
    assert req(IMG.format("27.01-py3"), driver_version="580.65.06", forward_compat=False)["satisfied"] is False


@pytest.mark.parametrize("release", ["25.09", "25.11", "26.01", "26.07"])
def test_every_release_after_25_08_the_table_lacks_is_no_exact_580_match(release):
    r = req(IMG.format(release + "-py3"), driver_version="580.65.06")
    assert (r["known"], r["exact"], r["match"]) == (False, False, "gap")
    assert r["warning"]


@pytest.mark.parametrize(("release", "minimum", "nearest"), [("24.09", 560, "24.10"), ("25.07", 580, "25.08")])
def test_a_release_between_rows_takes_the_next_known_release(release, minimum, nearest):
    r = req(IMG.format(release + "-py3"))
    assert (r["known"], r["exact"], r["match"], r["min_branch"]) == (False, False, "gap", minimum)
    assert f"the minimum of {nearest}, the next release it knows" in r["warning"]


def test_a_release_older_than_the_first_row_takes_the_first_rows_minimum():
    r = req(IMG.format("22.12-py3"), driver_version="530.30.02")
    assert (r["known"], r["exact"], r["match"], r["min_branch"], r["satisfied"]) == (False, False, "older", 530, True)
    assert "older than its first row" in r["warning"]


@pytest.mark.parametrize(
    ("tag", "cuda", "minimum"),
    [
        ("24.04-trtllm-python-py3", "12.3.2.001", 545),  # a CUDA older than its release's -py3 image
        ("24.04-vllm-python-py3", "12.4.1", 550),
        ("25.07-trtllm-python-py3", "12.9.0.036", 575),  # a release with no -py3 row
        ("25.12-vllm-python-py3", "13.1.0.036", 590),
        ("26.02-trtllm-python-py3", "13.0.2.006", 580),
        ("26.08-vllm-python-py3", "13.4.1.012", 615),
    ],
)
def test_variant_rows_keyed_by_full_tag(tag, cuda, minimum):
    r = req(IMG.format(tag))
    assert (r["known"], r["exact"], r["match"], r["cuda"], r["min_branch"]) == (True, True, "tag", cuda, minimum)
    assert r["source"] == "Triton Release Compatibility Matrix, " + tag.split("-", 1)[1]


def test_a_variant_row_whose_source_names_another_driver_says_so():
    r = req(IMG.format("24.11-trtllm-python-py3"))
    assert r["min_branch"] == 560 and "R555" in r["note"] and "CUDA 12.6 needs R560" in r["note"]


@pytest.mark.parametrize("variant", ["pyt-python-py3", "py3-min", "py3-sdk"])
def test_a_variant_without_a_row_uses_its_release_row_and_says_it_is_not_exact(variant):
    r = req(IMG.format("25.03-" + variant), driver_version="570.124.06")
    assert (r["known"], r["exact"], r["match"], r["min_branch"], r["satisfied"]) == (True, False, "variant", 570, True)
    assert f"no row for variant '{variant}' of release 25.03" in r["warning"]


def test_a_variant_in_a_release_the_table_lacks_is_not_exact():
    r = req(IMG.format("26.09-trtllm-python-py3"))
    assert (r["known"], r["exact"], r["match"]) == (True, False, "variant")  # the 26.09 -py3 row
    r = req(IMG.format("26.10-vllm-python-py3"))
    assert (r["known"], r["exact"], r["match"], r["min_branch"]) == (False, False, "newer", 615)


@pytest.mark.parametrize(
    ("tag", "driver", "ok", "compat"),
    [
        ("24.10-py3", "560.35.03", True, False),
        ("24.10-py3", "570.86.15", True, False),
        ("24.10-py3", "535.261.03", True, True),  # R535: the cuda-compat-12-6 package (data-center GPUs)
        ("24.10-py3", "545.23.08", False, False),  # R545 is end of life: no forward-compatibility target
        ("24.10-py3", "550.163.01", False, False),
        ("24.10-py3", "470.256.02", False, False),
        ("23.08-py3", "535.86.10", True, False),
        ("23.08-py3", "530.30.02", False, False),
        ("25.08-py3", "535.261.03", True, True),  # cuda-compat-13-0 supports R535 and R570
        ("25.08-py3", "570.172.08", True, True),
        ("25.08-py3", "575.57.08", False, False),
        ("25.08-py3", "580.65.06", True, False),
        ("26.08-py3", "610.43.02", True, True),
        ("26.08-py3", "615.61", True, False),
    ],
)
def test_driver_verdicts(tag, driver, ok, compat):
    r = req(IMG.format(tag), driver_version=driver)
    assert r["satisfied"] is ok
    assert r["via_forward_compat"] is compat


def test_refusal_names_the_driver_the_image_and_the_minimum():
    r = req(IMG.format("25.08-py3"), driver_version="535.261.03", forward_compat=False)
    assert r["satisfied"] is False
    assert "driver 535.261.03 (branch 535) does not satisfy" in r["message"]
    assert "25.08-py3, which needs driver 580 or later" in r["message"]
    assert "Not accepted (forward_compat false), forward-compatible data-center branches: R535, R570" in r["message"]


def test_table_rows_keyed_by_full_tag_override():
    table = {"24.10-vllm-python-py3": {"min_branch": 570, "compat_branches": [], "cuda": "12.8"}}
    r = req(IMG.format("24.10-vllm-python-py3"), driver_version="560.35.03", table=table)
    assert (r["min_branch"], r["exact"], r["match"], r["satisfied"]) == (570, True, "override", False)
    assert req(IMG.format("24.10-py3"), table=table)["min_branch"] == 560


def test_a_table_row_makes_an_unknown_release_exact():
    r = req(IMG.format("27.01-py3"), driver_version="620.1", table={"27.01": {"min_branch": 620}})
    assert (r["known"], r["exact"], r["match"], r["warning"], r["satisfied"]) == (True, True, "override", "", True)


@pytest.mark.parametrize(
    "image",
    ["nvcr.io/nvidia/tritonserver", "nvcr.io/nvidia/tritonserver:latest", "localhost:5000/tritonserver@sha256:abc"],
)
def test_images_without_a_release_tag_warn(image):
    r = req(image, driver_version="535")
    assert (r["known"], r["exact"], r["match"], r["satisfied"], r["min_branch"]) == (False, False, "none", None, None)
    assert "nvidia_driver_triton_min_branch" in r["warning"]


def test_registry_port_and_digest_are_parsed():
    r = req("registry.local:5000/nvidia/tritonserver:24.07-py3@sha256:0123", driver_version="555.42.06")
    assert (r["release"], r["satisfied"]) == ("24.07", True)


def test_empty_image_is_an_error():
    with pytest.raises(AnsibleFilterError):
        req("")


def doc_rows():
    """{key: (cuda, minimum, forward-compatible, stated)} of the tables in docs/driver-compatibility.md."""
    rows = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and re.match(r"^`?[0-9]{2}\.[0-9]{2}", cells[0]):
            key = cells[0].strip("`")
            stated = re.match(r"R([0-9]+)", cells[4])
            stated = int(stated.group(1)) if stated else None
            compat = [int(b.lstrip("R")) for b in re.findall(r"R[0-9]+", cells[3])]
            rows[key] = (cells[1], int(cells[2].lstrip("R")), compat, stated)
    return rows


def test_the_docs_table_is_the_filters():
    want = {k: (r["cuda"], r["min_branch"], r["compat_branches"], r["stated_branch"]) for k, r in TABLE.items()}
    assert doc_rows() == want
