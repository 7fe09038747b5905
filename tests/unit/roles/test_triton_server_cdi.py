"""triton_server_cdi with real ansible-playbook on this host: the instances' GPUs as CDI devices in the run script
(templates/run.sh.j2), and tasks/cdi_check.yml's refusal of an engine that cannot resolve them, over the engine as
community.docker.docker_host_info reads it (ServerVersion; CDISpecDirs, listed only while CDI is enabled). Each case
is an inventory host with fake engine facts; Molecule's nvidia_container_toolkit scenario reads real engines."""

from __future__ import annotations

from pathlib import Path

import pytest
from _role_play import run_cases

TEMPLATE = Path(__file__).resolve().parents[3] / "roles" / "triton_server" / "templates" / "run.sh.j2"
DIRS = ["/etc/cdi", "/var/run/cdi"]
# What docker_host_info returns: Debian 12's docker.io, Debian 13's without and with CDI enabled, a 28.2 engine
# (CDI on by default).
DEBIAN12 = {"ServerVersion": "20.10.24+dfsg1"}
DEBIAN13_OFF = {"ServerVersion": "26.1.5+dfsg1", "CDISpecDirs": []}
DEBIAN13_ON = {"ServerVersion": "26.1.5+dfsg1", "CDISpecDirs": DIRS}
DOCKER28 = {"ServerVersion": "28.2.2", "CDISpecDirs": DIRS}

# case: (triton_server_cdi, the instances, the engine)
CASES = {
    "cdi_one_gpu": (True, [{"name": "main", "gpus": [0]}], DEBIAN13_ON),
    "cdi_all": (True, [{"name": "main", "gpus": "all"}], DOCKER28),
    "cdi_uuid_and_mig": (True, [{"name": "main", "gpus": ["GPU-668481c4-e9a6-cae6-1a4f-5aead29c6931", "0:1"]}],
                         DEBIAN13_ON),
    "cdi_cpu_only_old_engine": (True, [{"name": "main", "gpus": []}], DEBIAN12),
    "gpus_old_engine": (False, [{"name": "main", "gpus": [0, 1]}], DEBIAN12),
    "cdi_old_engine": (True, [{"name": "main", "gpus": [0]}], DEBIAN12),
    "cdi_off_in_engine": (True, [{"name": "cpu", "gpus": []}, {"name": "g0", "gpus": [0], "http_port": 8100,
                                  "grpc_port": 8101, "metrics_port": 8102}], DEBIAN13_OFF),
    "cdi_engine_silent": (True, [{"name": "main", "gpus": [0]}], {}),
}  # fmt: skip
FAILS = {
    "cdi_old_engine": "triton_server_cdi=true gives the instances their GPUs as CDI devices (--device "
    "nvidia.com/gpu=...), which Docker Engine 25 or later resolves; the engine of cdi_old_engine is 20.10.24+dfsg1. "
    "Set triton_server_cdi=false there (--gpus with the toolkit's nvidia runtime works on this engine), or install "
    "Docker Engine 25 or later",
    "cdi_off_in_engine": "triton_server_cdi=true needs CDI enabled in the engine, and the Docker 26.1.5+dfsg1 of "
    "cdi_off_in_engine lists no CDI specification folder (CDI is off). Set docker_engine_cdi=true",
    "cdi_engine_silent": "the engine of cdi_engine_silent is unknown (the engine did not say)",
}
# The GPU options of each passing case's first instance (the run script's lines).
OPTIONS = {
    "cdi_one_gpu": ["--device nvidia.com/gpu=0"],
    "cdi_all": ["--device nvidia.com/gpu=all"],
    "cdi_uuid_and_mig": [
        "--device nvidia.com/gpu=GPU-668481c4-e9a6-cae6-1a4f-5aead29c6931",
        "--device nvidia.com/gpu=0:1",
    ],
    "cdi_cpu_only_old_engine": [],
    "gpus_old_engine": ["--gpus '\"device=0,1\"'"],
}

PLAY = f"""- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: gpufleet.triton.triton_server
        tasks_from: instances.yml
        public: true
    - ansible.builtin.include_role:
        name: gpufleet.triton.triton_server
        tasks_from: cdi_check.yml
    - ansible.builtin.debug:
        msg: "{{{{ lookup('ansible.builtin.template', '{TEMPLATE}',
                 template_vars={{'__triton_server_instance': __triton_server_instances_full[0]}}) }}}}"
"""


@pytest.fixture(scope="module")
def results(ansible_bin, tmp_path_factory):
    """{case: (failed, the failure's message or the run script)} from one ansible-playbook run over every case."""
    hosts = {
        case: {"triton_server_cdi": cdi, "triton_server_instances": instances,
               "__triton_server_engine": {"host_info": engine}, "__triton_server_image_id": "sha256:" + "0" * 64}
        for case, (cdi, instances, engine) in CASES.items()
    }  # fmt: skip
    report = run_cases(ansible_bin, tmp_path_factory.mktemp("cdi"), PLAY, hosts)
    out = {}
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, res in task["hosts"].items():
                if res.get("failed"):
                    out[host] = (True, " ".join(res.get("msg", "").split()))
                elif task["task"]["name"] == "ansible.builtin.debug":
                    out[host] = (False, res["msg"])
    return out


@pytest.mark.parametrize("case", sorted(OPTIONS))
def test_the_run_script_gives_the_gpus_as_cdi_devices_or_with_gpus(results, case):
    failed, script = results[case]
    assert not failed, script
    lines = [line.strip().rstrip(" \\") for line in script.splitlines()]
    given = [line for line in lines if line.startswith(("--device ", "--gpus "))]
    assert given == OPTIONS[case], script


@pytest.mark.parametrize("case", sorted(FAILS))
def test_an_engine_without_cdi_is_refused_naming_the_variable_and_the_engine(results, case):
    failed, msg = results[case]
    assert failed and FAILS[case] in msg, msg
