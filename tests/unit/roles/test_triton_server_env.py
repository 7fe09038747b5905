"""triton_server's check of triton_server_env (tasks/preflight.yml) with real ansible-playbook: docker run --env-file
takes NAME=VALUE lines as they are, so a name that is not a shell name, or a value that is not one line of text or a
number, fails before anything changes, and the message names the variables without showing their values (secrets).
Each case is an inventory host; the run is in check mode and stops at later checks that need a real node."""

from __future__ import annotations

import json

import pytest
from _role_play import role_play, run_cases

SECRET = "s3cr3t-value-that-must-not-show"  # noqa: S105 - a made-up secret the output must not show
CASES = {
    "good": {"AWS_ACCESS_KEY_ID": "AKIA0123", "AWS_SECRET_ACCESS_KEY": f"{SECRET} with=signs and spaces",
             "_N": 5, "FLAG": True},
    "digit_first": {"1X": SECRET},
    "dash": {"A-B": SECRET, "OK": SECRET},
    "two_lines": {"K": f"{SECRET}\nL=2"},
    "nested": {"K": {"x": SECRET}},
    "both": {"A B": "v", "K": f"{SECRET}\r"},
}  # fmt: skip
FAILS = {
    "digit_first": "triton_server_env: names must be letters, digits and _, not starting with a digit (got 1X);",
    "dash": "(got A-B);",
    "two_lines": "each value must be one line of text or a number (not so: K)",
    "nested": "each value must be one line of text or a number (not so: K)",
    "both": "(got A B); each value must be one line of text or a number (not so: K)",
}
TASK = "gpufleet.triton.triton_server : Check the containers' environment (triton_server_env)"

PLAY = role_play("gpufleet.triton.triton_server", "preflight.yml")


@pytest.fixture(scope="module")
def results(ansible_bin, tmp_path_factory):
    """{case: the env check's result} from one ansible-playbook run over every case."""
    hosts = {
        case: {"triton_server_model_repository_uri": "s3://bucket/models", "triton_server_env": env}
        for case, env in CASES.items()
    }
    report = run_cases(ansible_bin, tmp_path_factory.mktemp("env"), PLAY, hosts, "--check")
    return {host: res for play in report["plays"] for task in play["tasks"] if task["task"]["name"] == TASK
            for host, res in task["hosts"].items()}  # fmt: skip


def test_shell_names_and_one_line_values_pass(results):
    assert not results["good"].get("failed") and not results["good"].get("skipped"), results["good"]
    assert results["good"]["msg"] == "All assertions passed"


@pytest.mark.parametrize("case", sorted(FAILS))
def test_bad_names_and_values_fail_naming_them_not_their_values(results, case):
    res = results[case]
    msg = " ".join(res.get("msg", "").split())
    assert res.get("failed") and FAILS[case] in msg, res
    assert SECRET not in json.dumps(res), res
