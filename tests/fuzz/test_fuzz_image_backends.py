"""The triton_server_image_backends filter on generated image references and values of every type: a dict of the
documented shape for any non-empty string (a list only for a serving variant, else the reason), an AnsibleFilterError
naming what it got for anything else; never another exception."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.gpufleet.triton.plugins.filter.triton_server_image_backends import (
    triton_server_image_backends,
)
from ansible_collections.gpufleet.triton.plugins.module_utils._triton_image_variants import SERVING_VARIANTS
from hypothesis import given
from hypothesis import strategies as st

SHAPE = {
    "image": str,
    "tag": str,
    "release": str,
    "variant": str,
    "serving": bool,
    "backends": list,
    "known_variants": list,
    "reason": str,
}
EVERY_BACKEND = {b for backends in SERVING_VARIANTS.values() for b in backends}

NAMES = st.one_of(
    st.sampled_from(
        [
            "nvcr.io/nvidia/tritonserver",
            "tritonserver",
            "localhost:5000/nvidia/tritonserver",
            "harbor.example/a/b/c/tritonserver",
            "",
        ]
    ),
    st.text(max_size=12),
)
RELEASES = st.one_of(
    st.sampled_from(["23.10", "24.10", "25.02", "25.03", "25.11", "99.99", "00.00"]), st.text(max_size=6)
)
VARIANTS = st.one_of(
    st.sampled_from([*SERVING_VARIANTS, "py3-min", "py3-sdk", "py3-igpu", "py3-lab-cpu", "", "-", "py3-", "PY3"]),
    st.text(max_size=12),
)
DIGESTS = st.one_of(st.just(""), st.just("@sha256:" + "ab" * 32), st.text(alphabet="@:/", max_size=3))


@st.composite
def references(draw):
    tag = draw(RELEASES) + draw(st.sampled_from(["-", "", ":"])) + draw(VARIANTS)
    sep = draw(st.sampled_from([":", ":", "", "@"]))
    return draw(NAMES) + sep + tag + draw(DIGESTS)


JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.binary(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


@given(image=st.one_of(references(), st.text(), JUNK))
def test_a_result_of_its_shape_or_a_named_error(image):
    try:
        result = triton_server_image_backends(image)
    except AnsibleFilterError as exc:
        assert not isinstance(image, str) or not image.strip(), exc
        assert "the image must be a non-empty string, got" in str(exc)
        return
    assert set(result) == set(SHAPE) and all(isinstance(result[k], t) for k, t in SHAPE.items()), result
    assert result["image"] == image
    # a list exactly when the variant is known, the reason exactly when it is not
    assert result["serving"] == bool(result["backends"]) == (not result["reason"]), result
    if result["serving"]:
        assert result["variant"] in SERVING_VARIANTS and result["tag"].endswith("-" + result["variant"]), result
        assert set(result["backends"]) <= set(SERVING_VARIANTS[result["variant"]]) <= EVERY_BACKEND
        assert "python" in result["backends"]  # every serving variant has the python backend
    else:
        assert result["backends"] == []


@given(name=NAMES, release=RELEASES, variant=VARIANTS)
def test_a_digest_after_the_tag_changes_nothing(name, release, variant):
    image = f"{name}:{release}-{variant}"
    if "@" in image or not image.strip():
        return
    plain = triton_server_image_backends(image)
    if not plain["tag"]:  # not a tag after all ("name:24.10-a/b" is a registry port and a path): nothing to keep
        return
    pinned = triton_server_image_backends(image + "@sha256:" + "0f" * 32)
    assert {k: v for k, v in pinned.items() if k != "image"} == {k: v for k, v in plain.items() if k != "image"}


@pytest.mark.parametrize("variant", sorted(SERVING_VARIANTS))
def test_each_serving_variant_of_an_early_release_keeps_its_whole_list(variant):
    result = triton_server_image_backends(f"nvcr.io/nvidia/tritonserver:24.10-{variant}")
    assert result["backends"] == list(SERVING_VARIANTS[variant])
