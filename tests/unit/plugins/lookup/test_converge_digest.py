"""The converge_digest lookup: which inputs change the digest and which do not (through ansible on this host)."""

from __future__ import annotations

import json
import re

import pytest
from adhoc import run_adhoc


def digest(ansible_bin, extra, paths=()):
    expr = "{{ lookup('gpufleet.triton.converge_digest', paths=" + json.dumps(list(paths)) + ") }}"
    _rc, result = run_adhoc(ansible_bin, "ansible.builtin.debug", {"msg": expr}, extra=extra)
    return result["msg"]


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "m" / "1").mkdir(parents=True)
    (tmp_path / "m" / "config.pbtxt").write_text('name: "m"\n')
    return tmp_path


def test_inputs_that_count_and_those_that_do_not(ansible_bin, repo):
    base = {"triton_server_http_port": 8000, "ngc_login_api_key": "secret-1", "unrelated": 1}
    first = digest(ansible_bin, base, [str(repo)])
    assert re.fullmatch("[0-9a-f]{64}", first), first  # a digest, not an error text (which would compare equal too)
    assert digest(ansible_bin, dict(base, unrelated=2), [str(repo)]) == first
    assert digest(ansible_bin, dict(base, triton_server_http_port=8010), [str(repo)]) != first
    assert digest(ansible_bin, dict(base, ngc_login_api_key="secret-2"), [str(repo)]) != first
    assert digest(ansible_bin, dict(base, site_extra="x"), [str(repo)]) != first
    (repo / "m" / "config.pbtxt").write_text('name: "m"\nmax_batch_size: 8\n')
    assert digest(ansible_bin, base, [str(repo)]) != first


def test_a_variable_that_cannot_be_templated_yet_is_stable(ansible_bin):
    extra = {"image_cache_later": "{{ some_fact_set_later }}"}
    assert digest(ansible_bin, extra) == digest(ansible_bin, extra)


def test_model_files_count_by_content_and_compiled_python_does_not(ansible_bin, repo):
    weights = repo / "m" / "1" / "model.bin"
    weights.write_bytes(b"a" * (2 * 1024 * 1024))  # above the size whose sha256 is recorded on the file
    first = digest(ansible_bin, {}, [str(repo)])
    assert re.fullmatch("[0-9a-f]{64}", first), first
    assert digest(ansible_bin, {}, [str(repo)]) == first  # the second answer comes from the record
    (repo / "m" / "1" / "__pycache__").mkdir()
    (repo / "m" / "1" / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"compiled")
    assert digest(ansible_bin, {}, [str(repo)]) == first
    weights.write_bytes(b"b" * (2 * 1024 * 1024))  # same size, new content (and modification time)
    assert digest(ansible_bin, {}, [str(repo)]) != first
