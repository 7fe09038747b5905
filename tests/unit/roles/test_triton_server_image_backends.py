"""triton_server's image -> backends filter (module_utils/_triton_image_variants): each NGC serving variant's list, and
no list for anything else, with the reason; the validator then judges vLLM and TensorRT-LLM repositories by it."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.gpufleet.triton.plugins.filter.triton_server_image_backends import (
    triton_server_image_backends as backends_of,
)
from ansible_collections.gpufleet.triton.plugins.module_utils._model_config import DEFAULT_BACKENDS, validate_repository

NGC = "nvcr.io/nvidia/tritonserver:"
DIGEST = "@sha256:" + "ab" * 32
CORPUS = Path(__file__).resolve().parents[2] / "corpus"
PY3 = ["python", "onnxruntime", "pytorch", "tensorflow", "tensorrt", "openvino", "fil", "identity", "repeat", "square",
       "dali"]  # fmt: skip


@pytest.mark.parametrize(
    ("tag", "backends"),
    [
        ("24.10-py3", PY3),
        ("23.08-py3", PY3),
        ("25.02-py3", PY3),
        ("25.03-py3", [b for b in PY3 if b != "tensorflow"]),  # TensorFlow deprecated as of 25.03
        ("25.11-py3", [b for b in PY3 if b != "tensorflow"]),
        ("24.10-vllm-python-py3", ["vllm", "python"]),
        ("25.11-vllm-python-py3", ["vllm", "python"]),
        ("24.10-trtllm-python-py3", ["tensorrtllm", "python"]),
        ("24.10-pyt-python-py3", ["pytorch", "python"]),
        ("25.02-tf2-python-py3", ["tensorflow", "python"]),
    ],
)
def test_serving_variants_have_their_backends(tag, backends):
    r = backends_of(NGC + tag)
    assert (r["serving"], r["backends"], r["reason"]) == (True, backends, ""), r
    assert (r["tag"], r["release"], r["variant"]) == (tag, tag[:5], tag[6:])


def test_the_default_list_is_the_py3_image():
    # the role's default image: the validator's default list and the variant's are one list
    assert backends_of(NGC + "24.10-py3")["backends"] == DEFAULT_BACKENDS == PY3


@pytest.mark.parametrize(
    "image",
    [
        "harbor.example:5000/mirror/nvidia/tritonserver:24.10-vllm-python-py3",  # a mirror, a registry port
        "tritonserver:24.10-vllm-python-py3",
        NGC + "24.10-vllm-python-py3" + DIGEST,  # a tag and a digest: the tag tells, the digest pins
    ],
)
def test_the_tag_tells_wherever_the_image_lives(image):
    r = backends_of(image)
    assert (r["serving"], r["backends"], r["variant"]) == (True, ["vllm", "python"], "vllm-python-py3"), r


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        (NGC + "24.10-py3-min", "'-py3-min' is a base for building custom images"),
        (NGC + "24.10-py3-igpu-min", "'-py3-igpu-min' is a base for building custom images"),
        (NGC + "24.10-py3-sdk", "'-py3-sdk' is the client SDK image"),
        (NGC + "24.10-py3-lab-cpu", "'-py3-lab-cpu' is not an NGC serving variant this collection knows"),
        (NGC + "24.10-py3-igpu", "'-py3-igpu' is not an NGC serving variant"),
        (NGC + "25.03-tf2-python-py3", "NGC published '-tf2-python-py3' images up to 25.02 only, not for 25.03"),
        (NGC + "latest", "its tag 'latest' is not an NGC release tag (<YY.MM>-<variant>)"),
        (NGC + "24.10", "its tag '24.10' is not an NGC release tag"),
        ("acme/triton:2024.10-py3", "its tag '2024.10-py3' is not an NGC release tag"),
        ("nvcr.io/nvidia/tritonserver" + DIGEST, "it is given by digest alone"),
        ("localhost:5000/tritonserver" + DIGEST, "it is given by digest alone"),
        ("localhost:5000/tritonserver", "it has no tag"),
        ("nvcr.io/nvidia/tritonserver", "it has no tag"),
    ],
)
def test_anything_else_has_no_list_and_says_why(image, reason):
    r = backends_of(image)
    assert (r["serving"], r["backends"]) == (False, []), r
    assert r["reason"].startswith(reason), r["reason"]
    assert r["known_variants"] == [
        "py3",
        "vllm-python-py3",
        "trtllm-python-py3",
        "pyt-python-py3",
        "tf2-python-py3 (up to 25.02)",
    ]


@pytest.mark.parametrize("image", [None, "", "  ", 24.10, ["nvcr.io/nvidia/tritonserver:24.10-py3"], {}])
def test_not_an_image_reference_fails_naming_what_it_got(image):
    with pytest.raises(AnsibleFilterError, match=r"the image must be a non-empty string, got "):
        backends_of(image)


@pytest.mark.parametrize(
    ("case", "tag", "valid"),
    [
        ("valid/vllm_model", "24.10-vllm-python-py3", True),
        ("valid/vllm_model", "24.10-py3", False),  # the -py3 image has no vllm backend
        ("valid/tensorrtllm_model", "24.10-trtllm-python-py3", True),
        ("valid/tensorrtllm_model", "24.10-vllm-python-py3", False),
        ("valid/python_minimal", "24.10-vllm-python-py3", True),  # every serving variant has python
        ("valid/onnx_model", "24.10-pyt-python-py3", False),
    ],
)
def test_the_validator_judges_by_the_image_variant(case, tag, valid):
    result = validate_repository(str(CORPUS / case / "repo"), backends=backends_of(NGC + tag)["backends"])
    assert result["valid"] is valid, result["models"]
    if not valid:
        messages = [e["message"] for m in result["models"] for e in m["errors"]]
        assert any("unable to find backend library for backend" in m for m in messages), messages
