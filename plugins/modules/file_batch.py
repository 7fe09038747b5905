#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: file_batch
short_description: Write a batch of small files, and the folders they go in, in one module call
version_added: 0.1.0
description:
  - Creates or fixes the folders in O(directories), in order, then writes each file in O(files), in order, and says
    which of them changed. One task and one module call replace a row of M(ansible.builtin.file),
    M(ansible.builtin.template) and M(ansible.builtin.copy) tasks (one or two module calls each).
  - Each file's content is given as text (O(files[].content)); render templates and read controller files into it with
    the C(ansible.builtin.template) and C(ansible.builtin.file) lookups. Meant for configuration files, units and
    scripts, not for large files (for those, M(gpufleet.triton.verified_copy)), as the contents travel in the
    module's arguments.
  - Every item is checked before anything is written (paths, modes, exactly one content source, owners and groups
    known on the node, each file's folder present or listed in O(directories)); a bad item fails the task naming it
    and nothing is written.
  - A file whose bytes differ is replaced atomically, by a temporary file in the same folder that already has the
    wanted mode, owner and group before it is renamed over the old file. A file with a private mode is never
    readable by others, not even for a moment. A file whose bytes are equal only has its mode, owner and group
    fixed where they differ.
  - A symbolic link at a file's path is replaced by a regular file, not followed.
author:
  - gpufleet.triton maintainers (@gpufleet)
attributes:
  async:
    support: none
    description: Not supported.
  check_mode:
    support: full
    description: Reports which folders and files would change (RV(files), RV(directories), RV(changed_paths)) without
      writing anything.
  diff_mode:
    support: full
    description: Returns a diff for each text file whose content changes; binary files are left out.
  platform:
    support: full
    platforms: posix
    description: Runs on POSIX nodes.
options:
  directories:
    description:
      - Folders to create (when missing) or fix, before any file is written, in order.
      - A missing folder is created with O(directories[].mode); missing folders above it are created too, with mode
        C(0755), owned by the user the module runs as. O(directories[].owner) and O(directories[].group) apply to the
        listed folder only.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the folder on the node.
        type: str
        required: true
      mode:
        description: Mode of the folder, an octal string such as V("0700") (three or four octal digits, optionally
          after a leading C(0)); an integer is refused because YAML reads V(0700) as 448.
        type: raw
        required: true
      owner:
        description: Owner of the folder, a name or a numeric id; by default a new folder belongs to the user the
          module runs as and an existing one keeps its owner.
        type: str
      group:
        description: Group of the folder, a name or a numeric id; by default left as the system sets it or as it is.
        type: str
  files:
    description:
      - Files to write, in order. An empty list writes nothing.
      - The folder of each file must exist on the node or be one of O(directories) (or a folder created above one).
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path of the file on the node.
        type: str
        required: true
      content:
        description: The file's content, written as is (after the task's usual templating of its arguments).
        type: str
        required: true
      mode:
        description: Mode of the file, an octal string such as V("0644") (three or four octal digits, optionally after
          a leading C(0)); an integer is refused because YAML reads V(0644) as 420.
        type: raw
        required: true
      owner:
        description: Owner of the file, a name or a numeric id; by default a new file belongs to the user the module
          runs as and a replaced one keeps its owner.
        type: str
      group:
        description: Group of the file, a name or a numeric id; by default a new file gets the group the system gives
          it and a replaced one keeps its group.
        type: str
      backup:
        description: Before replacing a file whose content differs, keep a copy of it next to it (named like
          M(ansible.builtin.copy)'s backups) and return its path in RV(files[].backup_file).
        type: bool
        default: false
notes:
  - The contents travel inside the module's arguments, so the whole set should stay small (configuration files, not
    archives).
  - File contents never appear in the task's result apart from the diff in diff mode, but they are task arguments;
    the module's C(invocation) shows them at C(-vvv). Set C(no_log) on a task that writes secrets; Ansible then hides
    its arguments, result and diff.
seealso:
  - module: ansible.builtin.template
  - module: ansible.builtin.copy
  - module: ansible.builtin.file
"""

EXAMPLES = r"""
- name: Write the Triton unit, its settings and the registry's certificate
  gpufleet.triton.file_batch:
    directories:
      - path: /etc/triton-server
        mode: "0700"
        owner: root
        group: root
      - path: /etc/docker/certs.d/registry.example:5000
        mode: "0755"
    files:
      - path: /etc/systemd/system/triton-server@.service
        content: "{{ lookup('ansible.builtin.template', 'triton-server@.service.j2') }}"
        mode: "0644"
      - path: /etc/triton-server/env
        content: "NGC_API_KEY={{ ngc_api_key }}\n"
        mode: "0600"
        backup: true
      - path: /etc/docker/certs.d/registry.example:5000/ca.crt
        content: "{{ lookup('ansible.builtin.file', 'registry-ca.crt', rstrip=false) }}"
        mode: "0644"
  no_log: true
  register: triton_files

- name: Reload systemd when the unit changed
  ansible.builtin.systemd_service:
    daemon_reload: true
  when: "'/etc/systemd/system/triton-server@.service' in triton_files.changed_paths"
"""

RETURN = r"""
files:
  description: One entry per item of O(files), in the same order.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: Path of the file.
      type: str
      sample: /etc/triton-server/env
    changed:
      description: Whether the file's content, mode, owner or group changed (in check mode, would change).
      type: bool
    content_changed:
      description: Whether the file was written (created, or its bytes differed).
      type: bool
    backup_file:
      description: Path of the copy of the old file.
      returned: when O(files[].backup) is set and a file with other content was replaced
      type: str
      sample: /etc/triton-server/env.2042.2025-01-31@12:00:00~
  sample:
    - {path: /etc/systemd/system/triton-server@.service, changed: false, content_changed: false}
    - {path: /etc/triton-server/env, changed: true, content_changed: true,
       backup_file: "/etc/triton-server/env.2042.2025-01-31@12:00:00~"}
changed_paths:
  description: Paths of the files (not folders) whose content, mode, owner or group changed, in the order of O(files).
  returned: always
  type: list
  elements: str
  sample: [/etc/triton-server/env]
directories:
  description: One entry per item of O(directories), in the same order.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: Path of the folder.
      type: str
      sample: /etc/triton-server
    changed:
      description: Whether the folder (or a folder above it) was created or its mode, owner or group changed.
      type: bool
  sample:
    - {path: /etc/triton-server, changed: false}
"""

import errno
import os
import re
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpufleet.triton.plugins.module_utils._owner_ids import group_id, user_id

MODE_RE = re.compile(r"^0?[0-7]{3,4}$")


def mode_error(mode):
    """Why mode is not an octal string such as "0644", or None."""
    if isinstance(mode, str) and MODE_RE.match(mode):
        return None
    return 'mode must be an octal string such as "0644", got %r (%s)' % (mode, type(mode).__name__)


class FileBatchError(Exception):
    pass


class FileBatch:
    def __init__(self, module):
        self.module = module
        self.check = module.check_mode
        self.dirs = module.params["directories"] or []
        self.files = module.params["files"] or []
        self.dir_results = []
        self.file_results = []
        self.diffs = []

    # ---- checks made before anything is written -------------------------------------------------------------
    def ids(self, label, item):
        found = []
        for key, lookup in (("owner", user_id), ("group", group_id)):
            name = item.get(key)
            try:
                found.append(None if name in (None, "") else lookup(name))
            except KeyError:
                raise FileBatchError("%s: unknown %s %s on the node" % (label, key, name)) from None
        return tuple(found)

    def contents(self):
        return [item["content"].encode("utf-8", "surrogateescape") for item in self.files]

    def plan(self):
        """Check every item, node-side included, before anything is written; returns the per-item work."""
        dir_plan, file_plan, will_exist = [], [], set()
        for index, item in enumerate(self.dirs):
            path = item["path"]
            label = "directories[%d] (%s)" % (index, path)
            self.check_item(label, item)
            try:
                st = os.stat(path)
            except FileNotFoundError:
                st = None
            except OSError as exc:
                raise FileBatchError("%s: cannot look at it: %s" % (label, exc.strerror)) from None
            if st is not None and not stat.S_ISDIR(st.st_mode):
                raise FileBatchError("%s: exists and is not a folder" % label)
            uid, gid = self.ids(label, item)
            dir_plan.append((label, path, int(item["mode"], 8), uid, gid))
            folder = os.path.normpath(path)
            while folder not in will_exist and folder != os.path.dirname(folder):
                will_exist.add(folder)
                folder = os.path.dirname(folder)
        contents = self.contents()
        seen = {}
        for index, (item, content) in enumerate(zip(self.files, contents)):
            path = item["path"]
            label = "files[%d] (%s)" % (index, path)
            self.check_item(label, item)
            norm = os.path.normpath(path)
            if norm in seen:
                raise FileBatchError("%s: the same path as %s" % (label, seen[norm]))
            seen[norm] = "files[%d]" % index
            if path.endswith("/"):
                raise FileBatchError("%s: path ends with /, it must name a file" % label)
            parent = os.path.dirname(norm)
            if parent not in will_exist and not os.path.isdir(parent):
                raise FileBatchError(
                    "%s: its folder %s does not exist on the node and is not in directories" % (label, parent)
                )
            uid, gid = self.ids(label, item)
            st, before = self.existing(label, path)
            file_plan.append((label, item, content, int(item["mode"], 8), uid, gid, st, before))
        return dir_plan, file_plan

    @staticmethod
    def check_item(label, item):
        if not os.path.isabs(item["path"]):
            raise FileBatchError("%s: path must be absolute" % label)
        error = mode_error(item["mode"])
        if error:
            raise FileBatchError("%s: %s" % (label, error))

    # ---- folders ----------------------------------------------------------------------------------------------
    def ensure_dir(self, label, path, mode, uid, gid):
        changed = False
        if not os.path.isdir(path):
            changed = True
            if self.check:
                return changed
            missing, folder = [], os.path.normpath(path)
            while not os.path.isdir(folder):
                missing.append(folder)
                folder = os.path.dirname(folder)
            for folder in reversed(missing):
                final = folder == missing[0]
                self.os_call(label, os.mkdir, folder, mode & 0o777 if final else 0o755)
                if not final:
                    self.os_call(label, os.chmod, folder, 0o755)
        st = os.stat(path)
        changed |= self.fix_attrs(label, path, st, mode, uid, gid)
        return changed

    def fix_attrs(self, label, path, st, mode, uid, gid):
        """chown then chmod (a chown may clear set-id bits) where they differ; returns whether anything did."""
        want_uid = st.st_uid if uid is None else uid
        want_gid = st.st_gid if gid is None else gid
        changed = False
        if (want_uid, want_gid) != (st.st_uid, st.st_gid):
            changed = True
            if not self.check:
                self.os_call(label, os.chown, path, want_uid, want_gid)
        if stat.S_IMODE(st.st_mode) != mode or changed:
            changed = changed or stat.S_IMODE(st.st_mode) != mode
            if not self.check:
                self.os_call(label, os.chmod, path, mode)
        return changed

    @staticmethod
    def os_call(label, func, *args):
        try:
            return func(*args)
        except OSError as exc:
            raise FileBatchError("%s: %s" % (label, exc.strerror or exc)) from None

    # ---- files ------------------------------------------------------------------------------------------------
    def existing(self, label, path):
        """(lstat or None, bytes or None) of what is at path now."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            raise FileBatchError("%s: cannot look at it: %s" % (label, exc.strerror)) from None
        if stat.S_ISLNK(st.st_mode):
            return st, None
        if stat.S_ISDIR(st.st_mode):
            raise FileBatchError("%s: is a folder on the node" % label)
        if not stat.S_ISREG(st.st_mode):
            raise FileBatchError("%s: exists and is not a regular file" % label)
        try:
            with open(path, "rb") as handle:
                return st, handle.read()
        except OSError as exc:
            raise FileBatchError("%s: cannot read it: %s" % (label, exc.strerror)) from None

    def write_file(self, label, item, content, mode, uid, gid, st, before):
        path = item["path"]
        result = dict(path=path, changed=False, content_changed=False)
        if st is not None and before == content:
            result["changed"] = self.fix_attrs(label, path, st, mode, uid, gid)
            return result
        result["changed"] = result["content_changed"] = True
        self.add_diff(item, path, before, content)
        if self.check:
            return result
        if item.get("backup") and before is not None:
            try:
                result["backup_file"] = self.module.backup_local(path)
            except Exception as exc:
                raise FileBatchError("%s: cannot make a backup: %s" % (label, exc)) from None
        keep = st is not None and not stat.S_ISLNK(st.st_mode)
        want_uid = uid if uid is not None else (st.st_uid if keep else -1)
        want_gid = gid if gid is not None else (st.st_gid if keep else -1)
        self.replace(label, path, content, mode, (want_uid, want_gid), (uid, gid), st if keep else None)
        return result

    def replace(self, label, path, content, mode, want_ids, given_ids, old_st):
        folder = os.path.dirname(os.path.normpath(path))
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".%s." % os.path.basename(path), suffix=".tmp")
        except OSError as exc:
            raise FileBatchError("%s: cannot write in %s: %s" % (label, folder, exc.strerror)) from None
        try:
            with os.fdopen(fd, "wb") as handle:
                self.set_ids(handle.fileno(), want_ids, given_ids)
                os.fchmod(handle.fileno(), mode)
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            self.set_selinux_context(tmp, path, old_st)
            os.rename(tmp, path)
        except OSError as exc:
            self.remove(tmp)
            raise FileBatchError("%s: cannot write it: %s" % (label, exc.strerror or exc)) from None
        except BaseException:
            self.remove(tmp)
            raise
        self.sync_folder(folder)

    @staticmethod
    def set_ids(fd, want_ids, given_ids):
        """fchown the new file; keeping a replaced file's owner is best effort (EPERM ignored), a given one is not."""
        st = os.fstat(fd)
        want_uid, want_gid = want_ids
        uid = -1 if want_uid in (-1, st.st_uid) else want_uid
        gid = -1 if want_gid in (-1, st.st_gid) else want_gid
        if uid == -1 and gid == -1:
            return
        try:
            os.fchown(fd, uid, gid)
        except OSError as exc:
            if exc.errno != errno.EPERM or given_ids != (None, None):
                raise

    def set_selinux_context(self, tmp, path, old_st):
        if not self.module.selinux_enabled():
            return
        context = self.module.selinux_context(path) if old_st is not None else self.module.selinux_default_context(path)
        self.module.set_context_if_different(tmp, context, False)

    @staticmethod
    def remove(tmp):
        try:
            os.unlink(tmp)
        except OSError:
            pass

    @staticmethod
    def sync_folder(folder):
        try:
            fd = os.open(folder, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def add_diff(self, item, path, before, after):
        if not self.module._diff:
            return
        texts = []
        for data in (before or b"", after):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                return
            if "\x00" in text:
                return
            texts.append(text)
        self.diffs.append(dict(before_header=path, after_header=path, before=texts[0], after=texts[1]))

    # ---- the task ---------------------------------------------------------------------------------------------
    def result(self):
        changed_paths = [r["path"] for r in self.file_results if r["changed"]]
        changed = bool(changed_paths) or any(r["changed"] for r in self.dir_results)
        result = dict(
            changed=changed, files=self.file_results, changed_paths=changed_paths, directories=self.dir_results
        )
        if self.diffs:
            result["diff"] = self.diffs
        return result

    def run(self):
        try:
            dir_plan, file_plan = self.plan()
        except FileBatchError as exc:
            self.module.fail_json(msg=str(exc), files=[], changed_paths=[], directories=[])
        try:
            for label, path, mode, uid, gid in dir_plan:
                self.dir_results.append(dict(path=path, changed=self.ensure_dir(label, path, mode, uid, gid)))
            for step in file_plan:
                self.file_results.append(self.write_file(*step))
        except FileBatchError as exc:
            self.module.fail_json(msg=str(exc), **self.result())
        return self.result()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            directories=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    path=dict(type="str", required=True),
                    mode=dict(type="raw", required=True),
                    owner=dict(type="str"),
                    group=dict(type="str"),
                ),
            ),
            files=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    path=dict(type="str", required=True),
                    content=dict(type="str", required=True, no_log=False),
                    mode=dict(type="raw", required=True),
                    owner=dict(type="str"),
                    group=dict(type="str"),
                    backup=dict(type="bool", default=False),
                ),
            ),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**FileBatch(module).run())


if __name__ == "__main__":
    main()
