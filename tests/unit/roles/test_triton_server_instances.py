"""triton_server's instance checks (tasks/instances.yml) on this host, with real ansible-playbook: each instance's GPUs
against the node's GPUs as nvidia_driver reports them (an index or UUID the node lacks fails before anything changes),
and the instance list rebuilt, not grown, when the role runs twice in one play. Each case is an inventory host."""

from __future__ import annotations

import pytest
from _role_play import role_play, run_cases

# nvidia_driver's facts as verify.yml set them on a real H200 host (docs/gpu-check.md), and as detect.yml sets them
# before the driver answers (PCI only, no UUIDs).
UUID = "GPU-668481c4-e9a6-cae6-1a4f-5aead29c6931"
ONE = [{"index": 0, "name": "NVIDIA H200", "uuid": UUID, "pci_bus_id": "00000000:00:06.0"}]
TWO = [*ONE, {"index": 1, "name": "NVIDIA H200", "uuid": "GPU-11111111-2222-3333-4444-555555555555"}]
PCI_ONLY = [{"pci_address": "0000:00:06.0", "pci_class": "0x030200", "pci_device_id": "0x2335"}]
NOWHERE = "GPU-00000000-0000-0000-0000-000000000000"

CASES = {
    "by_index": (ONE, [{"name": "main", "gpus": [0]}]),
    "by_uuid": (ONE, [{"name": "main", "gpus": [UUID]}]),
    "every_gpu": (ONE, [{"name": "main"}]),
    "mig": (ONE, [{"name": "main", "gpus": ["0:1", "MIG-9c1e2c5e-5c5e-5d6a-8f54-0a1b2c3d4e5f"]}]),
    "one_per_gpu": (TWO, [{"name": "g0", "gpus": [0], "http_port": 8000, "grpc_port": 8001, "metrics_port": 8002},
                          {"name": "g1", "gpus": ["1"], "http_port": 8100, "grpc_port": 8101, "metrics_port": 8102}]),
    "cpu": ([], [{"name": "main", "gpus": []}]),
    "no_facts": (None, [{"name": "main", "gpus": [7]}]),
    "pci_only_uuid": (PCI_ONLY, [{"name": "main", "gpus": [NOWHERE]}]),
    "bad_index": (TWO, [{"name": "g0", "gpus": [0]}, {"name": "g2", "gpus": [2], "http_port": 8100, "grpc_port": 8101,
                                                       "metrics_port": 8102}]),
    "bad_uuid": (ONE, [{"name": "main", "gpus": [NOWHERE]}]),
    "all_without_gpus": ([], [{"name": "main", "gpus": "all"}]),
    "pci_only_index": (PCI_ONLY, [{"name": "main", "gpus": [1]}]),
    "bad_form": (ONE, [{"name": "main", "gpus": ["gpu0"]}]),
}  # fmt: skip

FAILS = {
    "bad_index": "triton_server_instances[1] (g2): GPU index 2 does not exist: bad_index has 2 NVIDIA GPU(s), "
    "indexes 0-1.",
    "bad_uuid": f"triton_server_instances[0] (main): {NOWHERE} is not a GPU of bad_uuid (its GPUs: {UUID}).",
    "all_without_gpus": 'triton_server_instances[0] (main): gpus is "all" but all_without_gpus has no NVIDIA GPU '
    "(nvidia_driver found none); set gpus: [] to run this instance on CPU only.",
    "pci_only_index": "triton_server_instances[0] (main): GPU index 1 does not exist: pci_only_index has 1 NVIDIA "
    "GPU(s), indexes 0-0.",
    "bad_form": 'gpus "all" or a list of GPU indexes (0), UUIDs (GPU-...), MIG devices (0:1, MIG-...) or [] for CPU '
    "only; got http_port=8000 grpc_port=8001 metrics_port=8002 gpus=['gpu0']",
}

# The role's instance checks twice in one play, as a play that applies it twice would run them.
PLAY = role_play(
    "gpufleet.triton.triton_server",
    "instances.yml",
    times=2,
    then="""    - ansible.builtin.debug:
        msg: "{{ __triton_server_instances_full | map(attribute='name') | join(',') }}"
""",
)


@pytest.fixture(scope="module")
def results(ansible_bin, tmp_path_factory):
    """{case: (failed, message)} from one ansible-playbook run over every case."""
    hosts = {}
    for case, (gpus, instances) in CASES.items():
        hosts[case] = {"triton_server_instances": instances}
        if gpus is not None:
            hosts[case]["nvidia_driver_gpus"] = gpus
    report = run_cases(ansible_bin, tmp_path_factory.mktemp("instances"), PLAY, hosts)
    out = {}
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, res in task["hosts"].items():
                if res.get("failed"):
                    items = [r.get("msg", "") for r in res.get("results", []) if r.get("failed")]
                    out[host] = (True, " | ".join(items) or res.get("msg", ""))
                elif task["task"]["name"] == "ansible.builtin.debug":
                    out[host] = (False, res["msg"])
    return out


@pytest.mark.parametrize("case", sorted(set(CASES) - set(FAILS)))
def test_gpus_the_node_has_pass(results, case):
    failed, names = results[case]
    assert not failed, names
    # Twice in one play: the same instances, not each one twice.
    assert names == ",".join(i["name"] for i in CASES[case][1])


@pytest.mark.parametrize("case", sorted(FAILS))
def test_gpus_the_node_lacks_fail_naming_the_instance(results, case):
    failed, msg = results[case]
    assert failed and FAILS[case] in " ".join(msg.split()), msg
