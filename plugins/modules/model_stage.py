#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: model_stage
short_description: Send model folders from the controller to a folder on the node in one transfer, checked file by file
version_added: 0.1.0
description:
  - Replaces C(O(dest)/<model>) on the node with a copy of C(O(src)/<model>) from the controller, for each model in
    O(models). Other folders under O(dest) are not touched.
  - The controller packs the listed models into one uncompressed tar (reading each file once and taking its sha256
    on the way), sends it with the connection's own transfer, and the node unpacks it while hashing each file. The
    archive is packed once per run for each set of files, and the other nodes of the run that need the same models are
    sent the same archive (RV(archive_shared)), so a rollout reads the models on the controller once, not once per
    node. A file
    whose sha256 differs from the controller's, or a file missing from the archive, fails the task naming the file and
    both checksums, and the models staged by this task are removed again.
  - The node unpacks the archive once it has arrived, in one module call. A damaged archive, or a failure to write a
    file, likewise fails the task and removes the models staged by this task.
  - Compared with M(ansible.builtin.copy) of a folder, which costs one or two module calls per file, this costs one
    transfer and one module call for any number of files; a repository of many versions and files is sent as fast
    as a single file of the same size.
  - Files are written C(0644), or C(0755) where the controller's file is executable by anyone; folders C(0755). The
    container's user must be able to read the models, so nothing is staged private.
  - Symbolic links on the controller are followed and sent as the files or folders they point to; a broken link, a
    link loop or a special file (socket, device, FIFO) fails the task before anything is sent.
author:
  - gpufleet.triton maintainers (@gpufleet)
attributes:
  action:
    support: full
    description: The packing and the transfer are done by the action plugin of the same name.
  async:
    support: none
    description: Not supported.
  check_mode:
    support: full
    description: Reports what would be staged (RV(models), RV(files), RV(bytes)) without sending or changing anything.
  diff_mode:
    support: none
    description: Model files are mostly binary; no diff is shown.
  platform:
    support: full
    platforms: posix
    description: Runs on POSIX nodes.
options:
  src:
    description: Folder on the controller whose sub-folders are the models.
    type: path
    required: true
  models:
    description:
      - Names of the sub-folders of O(src) to stage. Plain names only (no C(/), not C(.) or C(..)). An empty list
        stages nothing and reports no change.
    type: list
    elements: str
    required: true
  dest:
    description:
      - Folder on the node that receives C(<model>) folders. Created (C(0755), owned by O(owner) and O(group)) when
        missing.
    type: path
    required: true
  exclusive:
    description:
      - Remove every other entry of O(dest) before staging, so that it holds exactly the staged models. Use it when
        O(dest) is a private staging folder, where an earlier run that stopped before its swap may have left models
        that are not part of this change.
      - Nothing is removed when O(models) is empty, or in check mode.
    type: bool
    default: false
  owner:
    description: Owner of the staged files and folders; by default the user the module runs as.
    type: str
  group:
    description: Group of the staged files and folders; by default the primary group of the user the module runs as.
    type: str
  _tmp_src:
    description: Internal, set by the action plugin to the archive's path on the node; never set it in a task.
    type: path
  _manifest:
    description:
      - Internal, set by the action plugin; maps each path in the archive to its sha256 (empty for a folder). Never
        set it in a task.
    type: dict
notes:
  - The archive is written to Ansible's local temporary folder for the run first (C(DEFAULT_LOCAL_TMP); the
    connection plugins send files, not streams) and is removed when the run ends. The controller needs free space
    for one copy of each set of models staged during the run, however many nodes receive it; a folder that would be
    left with less than the smaller of 1 GiB and 5% of its file system fails the task before packing, naming the
    folder and the sizes (set C(local_tmp) in C(ansible.cfg) to a folder with room).
  - Before the archive is sent, the action plugin checks that the file system of the node's temporary folder
    (C(ansible_remote_tmp); by default the login user's C(~/.ansible/tmp), usually on the root file system) can take
    it and still keep the smaller of 1 GiB and 5% of it free. Otherwise the task fails naming the folder, its free
    space and the archive's size, so that a multi-GB transfer never fills the root file system of a serving node.
seealso:
  - module: ansible.builtin.copy
  - module: gpufleet.triton.model_repository_info
"""

EXAMPLES = r"""
- name: Stage two changed models next to the live repository
  gpufleet.triton.model_stage:
    src: /srv/models
    models: [resnet50, tokenizer]
    dest: /srv/triton/.staging
    owner: root
    group: root
"""

RETURN = r"""
dest:
  description: The folder on the node that received the models.
  returned: always
  type: str
  sample: /srv/triton/.staging
models:
  description: The models staged (in check mode, that would be staged).
  returned: always
  type: list
  elements: str
  sample: [resnet50, tokenizer]
files:
  description: Number of files staged.
  returned: always
  type: int
  sample: 12
bytes:
  description: Bytes of file content staged.
  returned: always
  type: int
  sample: 102760448
archive_shared:
  description:
    - Whether the archive sent had been packed earlier in this run, for another node that needed the same files
      (false for the node whose task packed it, in check mode, and when nothing is staged).
  returned: always
  type: bool
removed:
  description: The entries of O(dest) that O(exclusive) removed (in check mode, none).
  returned: always
  type: list
  elements: str
  sample: [old_tokenizer]
"""

import hashlib
import os
import shutil
import tarfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpufleet.triton.plugins.module_utils._model_names import model_name_error
from ansible_collections.gpufleet.triton.plugins.module_utils._owner_ids import group_id, user_id

CHUNK = 1024 * 1024


class ModelStage:
    def __init__(self, module):
        self.module = module
        self.dest = module.params["dest"]
        self.models = module.params["models"]
        self.manifest = module.params["_manifest"] or {}
        self.uid, self.gid = self.owner_ids()
        self.created = []

    def fail(self, msg):
        self.remove_staged()
        self.module.fail_json(msg=msg, dest=self.dest, models=self.models)

    def owner_ids(self):
        uid = gid = -1
        owner, group = self.module.params["owner"], self.module.params["group"]
        try:
            if owner:
                uid = user_id(owner)
            if group:
                gid = group_id(group)
        except KeyError:
            self.module.fail_json(msg="owner %r or group %r does not exist on the node" % (owner, group))
        return uid, gid

    def remove_staged(self):
        for path in self.created:
            shutil.rmtree(path, ignore_errors=True)
        self.created = []

    def remove_others(self):
        removed = []
        for entry in sorted(os.listdir(self.dest)):
            if entry in self.models:
                continue
            path = os.path.join(self.dest, entry)
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
            except OSError as exc:
                self.module.fail_json(msg="cannot remove %s from %s: %s" % (entry, self.dest, exc.strerror))
            removed.append(entry)
        return removed

    def clear(self, model):
        target = os.path.join(self.dest, model)
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)
        elif os.path.lexists(target):
            os.unlink(target)
        self.created.append(target)
        return target

    def member_path(self, member):
        """The node path of an archive member, refusing anything the action plugin would not have packed."""
        name = member.name
        parts = name.split("/")
        if name.startswith("/") or ".." in parts or "." in parts or "" in parts or parts[0] not in self.models:
            self.fail("the archive holds %r, which is outside the models being staged" % name)
        if name not in self.manifest:
            self.fail("the archive holds %s, which the controller did not list" % name)
        if not (member.isfile() or member.isdir()):
            self.fail("the archive holds %s, which is neither a file nor a folder" % name)
        return os.path.join(self.dest, name)

    def own(self, path, mode):
        os.chmod(path, mode)
        if self.uid != -1 or self.gid != -1:
            os.chown(path, self.uid, self.gid)

    def write(self, archive, member, path):
        digest = hashlib.sha256()
        source = archive.extractfile(member)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = source.read(CHUNK)
                if not chunk:
                    break
                digest.update(chunk)
                out.write(chunk)
        self.own(path, 0o755 if member.mode & 0o111 else 0o644)
        got, want = digest.hexdigest(), self.manifest[member.name]
        if got != want:
            self.fail("%s arrived on the node with sha256 %s, the controller sent %s" % (member.name, got, want))

    def unpack(self):
        seen, size = set(), 0
        try:
            with tarfile.open(self.module.params["_tmp_src"], mode="r:") as archive:
                for member in archive:
                    path = self.member_path(member)
                    if member.isdir():
                        if not os.path.isdir(path):
                            os.makedirs(path, 0o755)
                        self.own(path, 0o755)
                    else:
                        self.write(archive, member, path)
                        size += member.size
                    seen.add(member.name)
        except (tarfile.TarError, EOFError) as exc:
            self.fail("the archive of %s arrived damaged: %s" % (", ".join(self.models), exc))
        except OSError as exc:
            self.fail("cannot write %s: %s" % (exc.filename or self.dest, exc.strerror))
        missing = sorted(set(self.manifest) - seen)
        if missing:
            self.fail("the archive arrived without %s" % ", ".join(missing[:10]))
        return len([n for n in seen if self.manifest[n]]), size

    def run(self):
        for name in self.models:
            error = model_name_error(name)
            if error:
                self.module.fail_json(msg="models: " + error)
        result = dict(dest=self.dest, models=self.models, files=0, bytes=0, removed=[], changed=bool(self.models))
        if not self.models or self.module.check_mode or not self.module.params["_tmp_src"]:
            return result
        if not os.path.isdir(self.dest):
            os.makedirs(self.dest, 0o755)
            self.own(self.dest, 0o755)  # whatever the umask, owned like the models
        if self.module.params["exclusive"]:
            result["removed"] = self.remove_others()
        for model in self.models:
            self.clear(model)
        result["files"], result["bytes"] = self.unpack()
        return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="path", required=True),
            models=dict(type="list", elements="str", required=True),
            dest=dict(type="path", required=True),
            exclusive=dict(type="bool", default=False),
            owner=dict(type="str"),
            group=dict(type="str"),
            _tmp_src=dict(type="path"),
            _manifest=dict(type="dict"),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**ModelStage(module).run())


if __name__ == "__main__":
    main()
