"""triton_server's choice of the validator's backends (vars/main.yml, tasks/backends.yml), with real ansible-playbook:
the image's NGC serving variant gives the list without the operator's help; -py3-min, an unknown variant or a digest
alone fails in preflight, before the node's lock is taken, unless triton_server_backends is set. Each case is an
inventory host."""

from __future__ import annotations

import pytest
from _role_play import role_play, run_cases

NGC = "nvcr.io/nvidia/tritonserver:"
DIGEST = "@sha256:" + "0123456789abcdef" * 4
PY3 = ["python", "onnxruntime", "pytorch", "tensorflow", "tensorrt", "openvino", "fil", "identity", "repeat", "square",
       "dali"]  # fmt: skip
KNOWN = (
    "<YY.MM>-py3, <YY.MM>-vllm-python-py3, <YY.MM>-trtllm-python-py3, <YY.MM>-pyt-python-py3, "
    "<YY.MM>-tf2-python-py3 (up to 25.02)"
)

CASES = {
    "role_default": ({}, PY3),
    "py3": ({"triton_server_image": NGC + "25.11-py3"}, [b for b in PY3 if b != "tensorflow"]),
    "vllm": ({"triton_server_image": NGC + "25.11-vllm-python-py3"}, ["vllm", "python"]),
    "trtllm": ({"triton_server_image": NGC + "24.10-trtllm-python-py3"}, ["tensorrtllm", "python"]),
    "pytorch": ({"triton_server_image": NGC + "24.10-pyt-python-py3"}, ["pytorch", "python"]),
    "tag_and_digest": ({"triton_server_image": NGC + "24.10-vllm-python-py3" + DIGEST}, ["vllm", "python"]),
    # the operator's list wins, whatever the image
    "min_with_backends": ({"triton_server_image": NGC + "24.10-py3-min", "triton_server_backends": ["python", "vllm"]},
                          ["python", "vllm"]),
    "vllm_with_backends": ({"triton_server_image": NGC + "24.10-vllm-python-py3", "triton_server_backends": ["python"]},
                           ["python"]),
    "digest_with_backends": ({"triton_server_image": "nvcr.io/nvidia/tritonserver" + DIGEST,
                              "triton_server_backends": ["python"]}, ["python"]),
    # nothing to validate, nothing to know
    "min_not_validated": ({"triton_server_image": NGC + "24.10-py3-min", "triton_server_validate": False}, []),
    "min": ({"triton_server_image": NGC + "24.10-py3-min"}, None),
    "lab_build": ({"triton_server_image": NGC + "24.10-py3-lab-cpu"}, None),
    "digest": ({"triton_server_image": "nvcr.io/nvidia/tritonserver" + DIGEST}, None),
    "no_tag": ({"triton_server_image": "registry.local:5000/tritonserver"}, None),
    "tf2_after_its_end": ({"triton_server_image": NGC + "25.06-tf2-python-py3"}, None),
}  # fmt: skip

FAILS = {
    "min": f"triton_server_image {NGC}24.10-py3-min: '-py3-min' is a base for building custom images (compose.py, a "
    "Dockerfile), not a serving image. The validator cannot tell which backends that image serves: set "
    "triton_server_backends to the backends in its /opt/tritonserver/backends (for example [python, onnxruntime]), or "
    f"serve from an NGC variant whose backends are known: {KNOWN}.",
    "lab_build": f"triton_server_image {NGC}24.10-py3-lab-cpu: '-py3-lab-cpu' is not an NGC serving variant this "
    "collection knows. The validator cannot tell which backends that image serves: set triton_server_backends",
    "digest": f"triton_server_image nvcr.io/nvidia/tritonserver{DIGEST}: it is given by digest alone, so its tag, and "
    "with it its variant, is unknown (name:tag@sha256:... would tell it). The validator cannot tell which backends "
    "that image serves: set triton_server_backends",
    "no_tag": "triton_server_image registry.local:5000/tritonserver: it has no tag (Docker takes it as :latest), so "
    "its variant is unknown. The validator",
    "tf2_after_its_end": "'-tf2-python-py3' images up to 25.02 only, not for 25.06. The validator",
}

# public: the role's vars (__triton_server_validator_backends) stay visible to the task that shows them.
PLAY = """- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: gpufleet.triton.triton_server
        tasks_from: backends.yml
        public: true
    - ansible.builtin.debug:
        msg: "{{ __triton_server_validator_backends }}"
"""


@pytest.fixture(scope="module")
def results(ansible_bin, tmp_path_factory):
    """{case: (failed, message or the validator's backends)} from one ansible-playbook run over every case."""
    hosts = {case: settings for case, (settings, _) in CASES.items()}
    report = run_cases(ansible_bin, tmp_path_factory.mktemp("backends"), PLAY, hosts)
    out = {}
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, res in task["hosts"].items():
                if res.get("failed"):
                    out[host] = (True, res.get("msg", ""))
                elif task["task"]["name"] == "ansible.builtin.debug":
                    out[host] = (False, res["msg"])
    return out


@pytest.mark.parametrize("case", sorted(set(CASES) - set(FAILS)))
def test_the_validator_gets_the_image_variants_backends(results, case):
    failed, backends = results[case]
    assert not failed, backends
    assert backends == CASES[case][1]


@pytest.mark.parametrize("case", sorted(FAILS))
def test_an_image_without_a_known_list_needs_triton_server_backends(results, case):
    failed, msg = results[case]
    assert failed, msg
    assert FAILS[case] in " ".join(msg.split()), msg


def test_preflight_refuses_it_before_the_nodes_lock(ansible_bin, tmp_path):
    """The whole preflight: the refusal comes before the lock (files/lock.sh) and before any read of the node."""
    play = role_play("gpufleet.triton.triton_server", "preflight.yml")
    hosts = {"min": {"triton_server_image": NGC + "24.10-py3-min", "triton_server_model_repository_src": str(tmp_path)}}
    report = run_cases(ansible_bin, tmp_path, play, hosts)
    ran = [task["task"]["name"] for p in report["plays"] for task in p["tasks"] if "min" in task["hosts"]]
    failed = [t for p in report["plays"] for t in p["tasks"] if t["hosts"].get("min", {}).get("failed")]
    assert [t["task"]["name"] for t in failed] == [
        "gpufleet.triton.triton_server : Check that the image's backends are known"
    ], ran
    assert "'-py3-min' is a base for building custom images" in failed[0]["hosts"]["min"]["msg"]
    assert not any("lock" in name.lower() or "Read the image ID" in name for name in ran), ran
