"""triton_server's check of the load balancer's hooks (tasks/preflight.yml) with real ansible-playbook: URLs must be
http(s), headers strings; the message names the variables. One inventory host per case, in check mode."""

from __future__ import annotations

import pytest
from _role_play import role_play, run_cases

CASES = {
    "good": {"triton_server_drain_url": "http://lb.example/drain?node=n1", "triton_server_rejoin_url": "https://lb/r",
             "triton_server_lb_headers": {"Authorization": "Bearer t"}},
    "none": {},
    "ftp_drain": {"triton_server_drain_url": "ftp://lb.example/drain"},
    "bare_rejoin": {"triton_server_rejoin_url": "lb.example/rejoin"},
    "number_header": {"triton_server_lb_headers": {"X-Port": 8000}},
}  # fmt: skip
FAILS = {
    "ftp_drain": "triton_server_drain_url and triton_server_rejoin_url must be empty or http(s) URLs (got "
    '"ftp://lb.example/drain" and "")',
    "bare_rejoin": '(got "" and "lb.example/rejoin")',
    "number_header": "triton_server_lb_headers must map header names to strings",
}
TASK = "gpufleet.triton.triton_server : Check the load balancer's hooks"


@pytest.fixture(scope="module")
def results(ansible_bin, tmp_path_factory):
    hosts = {case: {"triton_server_model_repository_uri": "s3://bucket/models", **v} for case, v in CASES.items()}
    play = role_play("gpufleet.triton.triton_server", "preflight.yml")
    report = run_cases(ansible_bin, tmp_path_factory.mktemp("lb"), play, hosts, "--check")
    return {host: res for p in report["plays"] for t in p["tasks"] if t["task"]["name"] == TASK
            for host, res in t["hosts"].items()}  # fmt: skip


@pytest.mark.parametrize("case", sorted(set(CASES) - set(FAILS)))
def test_http_urls_and_string_headers_pass(results, case):
    assert results[case]["msg"] == "All assertions passed", results[case]


@pytest.mark.parametrize("case", sorted(FAILS))
def test_other_urls_and_headers_fail_naming_the_variables(results, case):
    res = results[case]
    assert res.get("failed") and FAILS[case] in " ".join(res["msg"].split()), res
