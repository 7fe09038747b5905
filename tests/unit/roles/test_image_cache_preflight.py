"""image_cache's first checks name only the settings that are wrong (real ansible-playbook on this host): the
role's argument spec (types, choices), then tasks/preflight.yml (formats, variables against each other)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    # What Ansible runs before the role's main tasks: the entry point's argument spec.
    - ansible.builtin.validate_argument_spec:
        argument_spec: "{{ (lookup('ansible.builtin.file', spec) | from_yaml).argument_specs.main.options }}"
      vars:
        spec: "{{ lookup('ansible.builtin.env', 'ANSIBLE_ROLES_PATH') }}/image_cache/meta/argument_specs.yml"
    - ansible.builtin.include_role:
        name: gpufleet.triton.image_cache
        tasks_from: preflight.yml
"""
GOOD = "image_cache_image=nvcr.io/nvidia/tritonserver:24.10-py3"


def preflight(ansible_bin, tmp_path, extra):
    (tmp_path / "play.yml").write_text(PLAY)
    cmd = [str(Path(ansible_bin).with_name("ansible-playbook")), str(tmp_path / "play.yml"), "-i", "localhost,",
           "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}", "-e", extra]  # fmt: skip
    env = dict(os.environ, ANSIBLE_NOCOLOR="true", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
               ANSIBLE_ROLES_PATH=str(Path(__file__).resolve().parents[3] / "roles"))  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, check=False)
    return proc.returncode, " ".join((proc.stdout + proc.stderr).split())


@pytest.mark.parametrize(
    ("extra", "named", "not_named"),
    [
        (f"image_cache_source=bogus {GOOD}",
         "image_cache_source must be one of: registry, tarball, seed, site_registry, got: bogus",
         "image_cache_image must"),
        # site_registry: the registry host, a name in the registry, and the image pushed earlier in this run.
        (f"image_cache_source=site_registry {GOOD.replace('nvcr.io', 'registry.dc1.internal:5000')}",
         'needs image_cache_site_registry_host, the inventory host that runs the site registry (got "")',
         "has not pushed"),
        ("image_cache_source=site_registry image_cache_site_registry_host=reg"
         " image_cache_image=nvidia/tritonserver:24.10",
         "and image_cache_image named in that registry, <site_registry_name>:<site_registry_port>/<path>:<tag>",
         "has not pushed"),
        (f"image_cache_source=site_registry image_cache_site_registry_host=reg {GOOD.replace('nvcr.io', 'reg:5000')}",
         "the site registry host reg has not pushed reg:5000/nvidia/tritonserver:24.10-py3 in this run",
         "needs image_cache_site_registry_host"),
        ("image_cache_source=registry image_cache_image=NoTag", "image_cache_image must be an image reference",
         "image_cache_source must"),
        (f"image_cache_source=registry {GOOD} image_cache_tarball_image=NoTag",
         "image_cache_tarball_image must be empty or the image reference with a tag inside the tarball",
         "image_cache_image must"),
        (f"image_cache_source=registry {GOOD} image_cache_expected_image_id=abc",
         "image_cache_expected_image_id must be empty or sha256:<64 hex> (got abc)", "image_cache_image must"),
        (f"image_cache_source=registry {GOOD} image_cache_retention=two",
         "argument 'image_cache_retention' is of type",  # the type's wording differs by ansible-core version
         "image_cache_image must"),
        (f"image_cache_tarball=http://127.0.0.1:9/t.tar image_cache_tarball_sha256={'0' * 64} {GOOD}"
         " image_cache_tarball_url_password=p",
         "image_cache_tarball_url_password needs image_cache_tarball_url_username (basic authentication)",
         "image_cache_image must"),
        (f"image_cache_source=registry {GOOD} image_cache_retention=0", "image_cache_retention >= 1 (got 10, 0)",
         "image_cache_image must"),
        # A seed host outside this node's batch that has not saved the image earlier in the run: a node going ahead
        # would find no tarball (or an earlier run's) on the controller.
        (f"image_cache_source=seed {GOOD} image_cache_seed_host=cache-1",
         "image_cache_source=seed needs image_cache_seed_host, the host that saves the image, in this node's batch or"
         " in a play of its own before it", "image_cache_image must"),
    ],
)  # fmt: skip
def test_only_the_wrong_setting_is_named(ansible_bin, tmp_path, extra, named, not_named):
    rc, out = preflight(ansible_bin, tmp_path, extra)
    assert rc != 0 and named in out and not_named not in out, out[-2000:]
