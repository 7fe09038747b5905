#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: converge_stamp
short_description: Record what a complete run left on a node, for the next run's fast path
version_added: 0.1.0
description:
  - Writes the stamp that M(gpufleet.triton.converge_stamp_info) compares against, made of the digest of the run's
    inputs (O(digest), from the P(gpufleet.triton.converge_digest#lookup) lookup) and a snapshot of what the roles own
    on the node, taken now. C(playbooks/site.yml) calls it after every role succeeded, in a run not limited by tags.
  - The snapshot covers every file below O(paths) (sha256, mode, owner; large files are hashed once and remembered in
    an extended attribute), the state of O(services) (active and enabled), the version of O(packages), whether each of
    O(images) is present, the version of the loaded NVIDIA kernel module, and whether each Triton in O(endpoints) is
    ready with O(models).
  - A folder in O(paths) stands for everything below it but the stamp itself; symbolic links are recorded as links,
    never followed.
  - Each command the snapshot runs (C(systemctl), C(dpkg-query) or C(rpm), C(docker)) has 60 seconds to answer; one
    that does not (a hung engine, say) is recorded as unavailable, which no healthy node matches.
  - The stamp also holds when it was written (this node's clock), which M(gpufleet.triton.converge_stamp_info) compares
    with its O(gpufleet.triton.converge_stamp_info#module:max_age). Each call writes it anew, atomically, with mode
    0600, so it always reports a change (in check mode it writes nothing).
author:
  - gpufleet.triton maintainers (@gpufleet)
extends_documentation_fragment:
  - gpufleet.triton.converge_stamp
attributes:
  check_mode:
    support: full
    description: Reports whether the stamp would change without writing it.
  diff_mode:
    support: none
    description: No diff is shown.
options:
  paths:
    description: Files and folders the roles own (absolute paths); a folder stands for everything below it.
    type: list
    elements: path
    default: []
  services:
    description: systemd units whose active and enabled states are recorded.
    type: list
    elements: str
    default: []
  packages:
    description: Packages whose installed versions are recorded (dpkg or rpm).
    type: list
    elements: str
    default: []
  images:
    description: Image IDs (sha256:...) that must stay in the Docker engine.
    type: list
    elements: str
    default: []
  endpoints:
    description: Base URLs of the node's Triton instances (C(http://) or C(https://)), e.g. V(http://127.0.0.1:8000).
    type: list
    elements: str
    default: []
  models:
    description: Models that must be ready on every one of O(endpoints).
    type: list
    elements: str
    default: []
seealso:
  - module: gpufleet.triton.converge_stamp_info
"""

EXAMPLES = r"""
- name: Stamp the node as converged for these inputs
  gpufleet.triton.converge_stamp:
    digest: "{{ __site_inputs_digest }}"
    paths: [/etc/docker/daemon.json, /etc/triton-server]
    services: [docker.service, triton-server@main.service]
    images: ["{{ image_cache_image_id }}"]
    endpoints: [http://127.0.0.1:8000]
    models: [add_sub]
"""

RETURN = r"""
path:
  description: Where the stamp is kept.
  returned: always
  type: str
  sample: /var/lib/gpufleet/converged.json
snapshot:
  description: What was recorded (paths, services, packages, images, endpoints, nvidia_module).
  returned: always
  type: dict
converged_at:
  description: When the stamp was written (seconds since the epoch, UTC; in check mode, when it would have been).
  returned: always
  type: float
previous_differences:
  description: How the snapshot differs from the one the previous stamp recorded (empty when it equals it, or when
    there was no previous stamp in this format).
  returned: always
  type: list
  elements: str
"""

import json
import os
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpufleet.triton.plugins.module_utils._converge_stamp import (
    COMMON_ARGS,
    SPEC_KEYS,
    STAMP_VERSION,
    differences,
    digest_problem,
    read_stamp,
    snapshot,
    spec_problem,
    stamp_path_problem,
    timeout_problem,
)


def write_atomically(path, text):
    """text into path (mode 0600) through a file beside it renamed into place, so a reader sees all or nothing."""
    folder = os.path.dirname(path)
    handle, tmp = tempfile.mkstemp(dir=folder, prefix=".converged.")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.chmod(tmp, 0o600)
        os.rename(tmp, path)
        tmp = None
    finally:
        if tmp is not None and os.path.lexists(tmp):
            os.unlink(tmp)


def record(params, check_mode):
    """Take the snapshot and write the stamp (not in check mode): the module's result. OSError when the stamp cannot
    be written."""
    path = params["path"]
    folder = os.path.dirname(path)
    if not check_mode and not os.path.isdir(folder):
        # Before the snapshot, so that where paths hold the stamp's folder it is recorded as the stamp leaves it.
        os.makedirs(folder, 0o700)
    spec = dict((key, params[key]) for key in SPEC_KEYS)
    # The stamp itself changes on every write: neither listed nor recorded.
    spec["paths"] = sorted(set(p for p in spec["paths"] if os.path.normpath(p) != os.path.normpath(path)))
    taken = snapshot(spec, timeout=params["timeout"], remember=not check_mode, exclude=(path,))
    stamp = {
        "version": STAMP_VERSION,
        "digest": params["digest"],
        "converged_at": time.time(),
        "spec": spec,
        "snapshot": taken,
    }
    previous, _reason = read_stamp(path)
    if not check_mode:
        write_atomically(path, json.dumps(stamp, indent=1, sort_keys=True) + "\n")
    return dict(
        changed=True,
        path=path,
        snapshot=taken,
        converged_at=stamp["converged_at"],
        previous_differences=differences(previous.get("snapshot") or {}, taken) if previous else [],
    )


def main():
    module = AnsibleModule(
        argument_spec=dict(
            COMMON_ARGS,
            paths=dict(type="list", elements="path", default=[]),
            services=dict(type="list", elements="str", default=[]),
            packages=dict(type="list", elements="str", default=[]),
            images=dict(type="list", elements="str", default=[]),
            endpoints=dict(type="list", elements="str", default=[]),
            models=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    # Every option is checked before the snapshot looks at (and tags) anything.
    problem = (
        digest_problem(params["digest"])
        or timeout_problem(params["timeout"])
        or stamp_path_problem(params["path"])
        or spec_problem(params)
    )
    if problem:
        module.fail_json(msg=problem)
    try:
        result = record(params, module.check_mode)
    except (IOError, OSError) as exc:
        module.fail_json(msg="path: cannot write the stamp %s: %s" % (params["path"], exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
