#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: image_cache_node_info
short_description: Read what gpufleet.triton.image_cache needs to know of a node, in one call
version_added: 0.1.0
description:
  - Returns, under named keys, the free space of the file system that holds (or would hold) O(cache_dir) and of the
    Docker engine's data root, the ID the engine has for each of O(images), whether each of O(files) exists, the
    parsed JSON of O(state_file), and the user the module runs as.
  - One module call instead of one per question (M(ansible.builtin.stat), M(community.docker.docker_host_info),
    M(community.docker.docker_image_info), M(ansible.builtin.slurp)), each about a second on a bare node. It reads no
    file's content but O(state_file)'s.
author:
  - gpufleet.triton maintainers (@gpufleet)
extends_documentation_fragment:
  - gpufleet.triton.attributes.info_module
attributes:
  platform:
    support: full
    platforms: posix
    description: Runs on POSIX nodes; the engine is asked through the C(docker) command.
options:
  cache_dir:
    description:
      - A folder (an absolute path); RV(cache_dir) is the free space of the file system it is on, or that of its
        nearest existing parent folder when it does not exist yet.
    type: path
  docker_root:
    description: Whether to ask the engine for its data root (C(docker info)) and return RV(docker_root).
    type: bool
    default: false
  images:
    description:
      - Image IDs or names to look up in the engine; empty strings are skipped. A name that starts with C(-) is a name,
        never an option of the C(docker) command.
    type: list
    elements: str
    default: []
  files:
    description: Absolute paths whose existence to report in RV(files).
    type: list
    elements: path
    default: []
  state_file:
    description:
      - A JSON file (an absolute path) to read and return as RV(state); a missing or empty file (or a link to nothing)
        gives V({}). Anything else that is not a UTF-8 JSON object, a folder or a FIFO say, fails the task.
    type: path
seealso:
  - module: community.docker.docker_image_info
  - module: community.docker.docker_host_info
"""

EXAMPLES = r"""
- name: Read the node's free space, the image's ID and the image history
  gpufleet.triton.image_cache_node_info:
    cache_dir: /var/cache/gpufleet/images
    docker_root: true
    images: ["sha256:3d65b9d530ea..."]
    files: [/var/cache/gpufleet/images/tritonserver.tar]
    state_file: /var/cache/gpufleet/images/state.json
  register: node
"""

RETURN = r"""
cache_dir:
  description: The file system of O(cache_dir).
  returned: when O(cache_dir) is set
  type: dict
  contains:
    path:
      description: O(cache_dir).
      type: str
    free_bytes:
      description: Bytes free for an unprivileged writer (C(df)'s Available).
      type: int
    mount:
      description: The mount point of the file system.
      type: str
docker_root:
  description:
    - The engine's data root and its file system; C(/var/lib/docker) when the engine does not answer, or answers
      something that is not an absolute path.
  returned: when O(docker_root=true)
  type: dict
  contains:
    path:
      description: The data root (C(docker info)'s DockerRootDir).
      type: str
    free_bytes:
      description: Bytes free on its file system.
      type: int
    mount:
      description: The mount point of its file system.
      type: str
images:
  description: For each of O(images), the ID the engine has for it; an empty string when it has none.
  returned: always
  type: dict
  sample: {"nvcr.io/nvidia/tritonserver:24.10-py3": "sha256:3d65b9d530ea0f4d0c6f1b4f0c0e9b8c..."}
files:
  description: For each of O(files), whether something exists at that path.
  returned: always
  type: dict
  sample: {"/var/cache/gpufleet/images/tritonserver.tar": true}
state:
  description: The parsed content of O(state_file); V({}) when it is missing or empty.
  returned: always
  type: dict
user:
  description: The user the module runs as.
  returned: always
  type: str
  sample: deploy
group:
  description: That user's primary group.
  returned: always
  type: str
  sample: deploy
"""

import errno
import grp
import json
import os
import pwd

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpufleet.triton.plugins.module_utils._regular_file import read_regular

DEFAULT_DOCKER_ROOT = "/var/lib/docker"


def nearest_existing(path):
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def mount_of(path):
    path = os.path.realpath(path)
    dev = os.stat(path).st_dev
    while path != "/":
        parent = os.path.dirname(path)
        if os.stat(parent).st_dev != dev:
            return path
        path = parent
    return "/"


def space(path):
    here = nearest_existing(path)
    st = os.statvfs(here)
    return dict(path=path, free_bytes=st.f_bavail * st.f_frsize, mount=mount_of(here))


def docker(module, *args):
    """The docker command's stdout, stripped; None when it fails or is missing."""
    binary = module.get_bin_path("docker")
    if binary is None:
        return None
    rc, out, _err = module.run_command([binary] + list(args))  # noqa: RUF005 (Python 2.7 on old nodes)
    return out.strip() if rc == 0 else None


def usable_root(answer):
    """The engine's data root when answer is one (an absolute path on one line), else None."""
    if answer and os.path.isabs(answer) and "\n" not in answer and "\0" not in answer:
        return answer
    return None


def path_problem(name, path):
    if "\0" in path or not os.path.isabs(path):
        return "%s must be an absolute path, got %r" % (name, path)
    return None


def read_state(module, path):
    try:
        text = read_regular(path).decode("utf-8")
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:  # missing, or a link to nothing: no history yet
            return {}
        module.fail_json(msg="cannot read %s (expected the JSON image history): %s" % (path, exc.strerror or exc))
    except UnicodeDecodeError as exc:
        module.fail_json(msg="%s is not UTF-8 (%s); remove it or give its JSON back" % (path, exc))
    if not text.strip():
        return {}
    try:
        state = json.loads(text)
    except RecursionError:
        module.fail_json(msg="%s nests JSON too deeply to read; remove it or give its JSON back" % path)
    except ValueError as exc:
        module.fail_json(msg="%s is not JSON (%s); remove it or give its JSON back" % (path, exc))
    if not isinstance(state, dict):
        module.fail_json(msg="%s holds a JSON %s, expected an object" % (path, type(state).__name__))
    return state


def main():
    module = AnsibleModule(
        argument_spec=dict(
            cache_dir=dict(type="path"),
            docker_root=dict(type="bool", default=False),
            images=dict(type="list", elements="str", default=[]),
            files=dict(type="list", elements="path", default=[]),
            state_file=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    problems = [path_problem(name, params[name]) for name in ("cache_dir", "state_file") if params[name] is not None]
    problems += [path_problem("files", path) for path in params["files"]]
    problems += ["images: %r holds a NUL character" % ref for ref in params["images"] if "\0" in ref]
    problems = [problem for problem in problems if problem]
    if problems:
        module.fail_json(msg="; ".join(problems))
    uid, gid = os.geteuid(), os.getegid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    try:
        group = grp.getgrgid(gid).gr_name
    except KeyError:
        group = str(gid)
    result = dict(changed=False, user=user, group=group)
    if params["cache_dir"] is not None:
        result["cache_dir"] = space(params["cache_dir"])
    if params["docker_root"]:
        root = usable_root(docker(module, "info", "--format", "{{ .DockerRootDir }}")) or DEFAULT_DOCKER_ROOT
        result["docker_root"] = space(root)
    # "--": a name such as --help is an image name, not an option (which would answer with the usage, and succeed).
    result["images"] = dict(
        (ref, docker(module, "image", "inspect", "--format", "{{ .Id }}", "--", ref) or "")
        for ref in params["images"]
        if ref
    )
    result["files"] = dict((path, os.path.lexists(path)) for path in params["files"])
    result["state"] = read_state(module, params["state_file"]) if params["state_file"] is not None else {}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
