#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: verified_copy
short_description: Copy a large file to a node unless the node already has a file with its sha256
version_added: 0.1.0
description:
  - Transfers O(src) from the controller to O(dest) on the node unless O(dest) already holds a file whose sha256 is
    O(sha256). Made for multi-gigabyte image tarballs sent to many nodes, where every extra read of the file counts.
  - The controller reads the file once, in the connection's own transfer (C(sftp)/C(scp) over SSH, C(docker exec)
    for containers); nothing is hashed on the controller, the caller gives the expected O(sha256). The node reads the
    arrived bytes once to check them. The file replaces O(dest) (atomic rename in O(dest)'s folder) only after its
    sha256 matched; otherwise the transferred copy is removed, O(dest) is left as it was and the task fails with both
    checksums.
  - The sha256 of a file already at O(dest) is remembered in an extended attribute (C(user.gpufleet.sha256)) together
    with the file's size, modification time and inode; the same record gpufleet.triton.image_cache's tarball check
    and the converge stamp use. Later runs trust it while those three are unchanged, instead of
    reading a multi-gigabyte file again (O(checksum_cache)). File systems without user extended attributes simply
    hash every time.
author:
  - gpufleet.triton maintainers (@gpufleet)
extends_documentation_fragment:
  - ansible.builtin.files
attributes:
  action:
    support: full
    description: The transfer is done by the action plugin of the same name, through the connection.
  async:
    support: none
    description: Not supported.
  check_mode:
    support: full
    description: Reports whether the file would be transferred (RV(copied)) without transferring or changing anything.
  diff_mode:
    support: none
    description: The file is binary; no diff is shown.
  platform:
    support: full
    platforms: posix
    description: Runs on POSIX nodes.
options:
  src:
    description:
      - Path of the file on the controller. A relative path is searched in the role's or play's C(files) folder.
    type: path
    required: true
  dest:
    description: Path of the file on the node. Its folder must exist, unless O(directory_mode) is set.
    type: path
    required: true
  directory_mode:
    description:
      - When O(dest)'s folder does not exist, create it and any missing folder above it with this mode, owned by
        O(owner) and O(group), once the file has arrived and matched O(sha256). A folder that exists is left as it is.
      - An octal mode, quoted (V('0750')); anything else fails the task before the file is sent.
      - Unset, a missing folder fails the task.
    type: raw
  sha256:
    description: The file's sha256, 64 hexadecimal digits.
    type: str
    required: true
  checksum_cache:
    description:
      - Trust the sha256 recorded in O(dest)'s extended attribute while its size, modification time and inode are
        unchanged. V(false) reads and hashes O(dest) on every run.
    type: bool
    default: true
  probe:
    description:
      - Ask the node first whether O(dest) already holds a file with O(sha256) (one module call, answered from the
        extended attribute on a re-run). V(false) sends the file without asking, for a caller that has just asked
        with a check-mode run of this module and knows the file is missing; it saves a module call per node. Check
        mode always asks.
    type: bool
    default: true
  _tmp_src:
    description: Internal, set by the action plugin to the transferred file's path on the node; never set it in a task.
    type: path
  _src_size:
    description: Internal, set by the action plugin to the size of O(src); never set it in a task.
    type: int
    default: 0
notes:
  - O(sha256), O(mode), O(directory_mode), O(attributes), O(owner) and O(group) are checked before anything is sent
    or changed, on the controller as far as it can (names only on the node); an owner or group is a name that exists
    on the node or a numeric id from 0 to 4294967294, a mode an octal one of at most V(07777) or a symbolic one.
  - O(dest) must be a regular file, a link to one, or absent; anything else (a folder, a FIFO, a socket, a link to a
    folder) fails the task and is left as it was. A link at O(dest) is replaced by the file; what it pointed to is
    not changed.
  - Compared with M(ansible.builtin.copy), which hashes the file on the controller and the node with sha1 and then
    leaves the sha256 check to a further task, this reads the file twice in all instead of four times.
  - The cache trusts the modification time as C(rsync)'s quick check does; set O(checksum_cache=false) where files can
    be rewritten with their old modification time.
  - The file is received in the node's temporary folder and renamed over O(dest). When that folder is on another file
    system (a home folder on NFS, for example), the rename is a second full copy on the node, and the result carries a
    warning that says so.
seealso:
  - module: ansible.builtin.copy
"""

EXAMPLES = r"""
- name: Put the Triton tarball on the node unless it is already there
  gpufleet.triton.verified_copy:
    src: /srv/images/tritonserver-24.10-py3.tar
    dest: /var/cache/gpufleet/images/tritonserver-24.10-py3.tar
    sha256: 69da9f6b956b75580da1021d026b3e570d7fdf07cb1d25949efa5162148256cb
    owner: root
    group: root
    mode: "0640"

- name: Ask whether the node needs the file, without sending it
  gpufleet.triton.verified_copy:
    src: /srv/images/tritonserver-24.10-py3.tar
    dest: /var/cache/gpufleet/images/tritonserver-24.10-py3.tar
    sha256: 69da9f6b956b75580da1021d026b3e570d7fdf07cb1d25949efa5162148256cb
  check_mode: true
  register: tarball_on_node
"""

RETURN = r"""
dest:
  description: Path of the file on the node.
  returned: always
  type: str
  sample: /var/cache/gpufleet/images/tritonserver-24.10-py3.tar
sha256:
  description: The file's sha256.
  returned: always
  type: str
  sample: 69da9f6b956b75580da1021d026b3e570d7fdf07cb1d25949efa5162148256cb
size:
  description: Size of the file in bytes.
  returned: always
  type: int
  sample: 363068416
copied:
  description: Whether the file was transferred (in check mode, whether it would be).
  returned: always
  type: bool
transferred:
  description: Bytes sent to the node by this task (in check mode, the bytes that would be sent).
  returned: always
  type: int
  sample: 0
checksum_cached:
  description: Whether the sha256 of the file already at O(dest) came from its extended attribute rather than a read.
  returned: always
  type: bool
"""

import errno
import os
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpufleet.triton.plugins.module_utils._file_digest import (
    file_sha256,
    is_sha256,
    remember_sha256,
)
from ansible_collections.gpufleet.triton.plugins.module_utils._file_mode import (
    DIRECTORY_MODE_EXPECTED,
    MODE_EXPECTED,
    attributes_ok,
    directory_mode_ok,
    mode_ok,
)
from ansible_collections.gpufleet.triton.plugins.module_utils._owner_ids import EXPECTED as ID_EXPECTED
from ansible_collections.gpufleet.triton.plugins.module_utils._owner_ids import group_id, user_id


def option_problem(params):
    """What is wrong with the options (one sentence naming the option and what it takes), or None. Checked before
    anything is read or written: AnsibleModule applies mode, owner and group only once the file is in place."""
    sha, dest = params["sha256"], params["dest"]
    if not is_sha256(sha):
        return "sha256 must be 64 hexadecimal digits, got %r" % sha
    if not dest or "\0" in dest or dest.endswith("/"):
        return "dest must be the path of a file (not empty, without a NUL byte or a trailing /), got %r" % dest
    try:
        os.fsencode(dest)
    except UnicodeError:
        return "dest %r cannot be encoded as a path on the node" % dest
    if params["mode"] is not None and not mode_ok(params["mode"]):
        return "mode must be %s, got %r" % (MODE_EXPECTED, params["mode"])
    if params["directory_mode"] is not None and not directory_mode_ok(params["directory_mode"]):
        return "directory_mode must be %s, got %r" % (DIRECTORY_MODE_EXPECTED, params["directory_mode"])
    if params["attributes"] is not None and not attributes_ok(params["attributes"]):
        return "attributes must be chattr flags such as '+i' or '-e', got %r" % params["attributes"]
    for name, lookup in (("owner", user_id), ("group", group_id)):
        if params[name] is not None:
            try:
                lookup(params[name])
            except KeyError:
                return "%s %r: expected %s" % (name, params[name], ID_EXPECTED)
    return None


class VerifiedCopy:
    def __init__(self, module):
        self.module = module
        self.dest = module.params["dest"]
        self.want = module.params["sha256"].lower()
        self.tmp_src = module.params["_tmp_src"]
        self.cache = module.params["checksum_cache"]
        self.cached = False

    def fail(self, msg):
        self.module.fail_json(msg=msg, dest=self.dest, sha256=self.want)

    def dest_stat(self):
        """The stat of the regular file at dest (through a link), None when there is none; fails for anything else,
        which the file must not replace (a folder, a FIFO, a socket, a link to a folder or a loop)."""
        try:
            st = os.stat(self.dest)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None
            self.fail("cannot read dest %s: %s" % (self.dest, exc.strerror))
        if not stat.S_ISREG(st.st_mode):
            self.fail("dest %s exists on the node and is not a regular file" % self.dest)
        return st

    def check_folder(self):
        """dest's folder exists, or directory_mode says to create it."""
        folder = os.path.dirname(self.dest) or "."
        if self.module.params["directory_mode"] is None and not os.path.isdir(folder):
            self.fail(
                "the folder of dest %s does not exist on the node: create it first, or set directory_mode" % self.dest
            )

    def current_sha256(self):
        """The sha256 of the file at dest (None when there is none), from the cache when it still holds."""
        st = self.dest_stat()
        if st is None:
            return None, 0
        # not recorded on the file behind a link: that file is outside what the task names
        remember = not self.module.check_mode and not os.path.islink(self.dest)
        try:
            digest, self.cached = file_sha256(self.dest, use_cache=self.cache, remember=remember)
        except OSError as exc:
            self.fail("cannot read dest %s: %s" % (self.dest, exc.strerror))
        return digest, st.st_size

    def attributes(self, changed):
        args = self.module.load_file_common_arguments(self.module.params, path=self.dest)
        return self.module.set_fs_attributes_if_different(args, changed)

    def run(self):
        result = dict(
            dest=self.dest, sha256=self.want, copied=False, transferred=0, checksum_cached=False
        )  # fmt: skip
        if self.tmp_src is not None:
            # second call, after the action plugin sent the file
            result.update(self.install())
            return result
        digest, size = self.current_sha256()
        result["checksum_cached"] = self.cached
        if digest == self.want:
            result.update(size=size, changed=self.attributes(False))
        else:
            if not self.module.check_mode:
                # before the file is sent; in check mode an earlier task may be about to create the folder
                self.check_folder()
            size = self.module.params["_src_size"]
            result.update(size=size, copied=True, transferred=size, changed=True)
        return result

    def warn_if_copied_across(self):
        """A temporary folder on another file system than dest makes the move into place a second full copy."""
        try:
            across = os.stat(self.tmp_src).st_dev != os.stat(os.path.dirname(self.dest) or ".").st_dev
        except OSError:
            return
        if across:
            self.module.warn(
                "%s arrived in %s, on another file system than %s, so moving it into place copied it once more on "
                "the node; a temporary folder on the file system of %s (ansible_remote_tmp) saves that copy"
                % (self.module.params["src"], os.path.dirname(self.tmp_src), self.dest, os.path.dirname(self.dest))
            )

    def make_folder(self, folder):
        """Create dest's missing folders, outermost first, each with directory_mode, owner and group."""
        mode = self.module.params["directory_mode"]
        if mode is None:
            return
        missing = []
        while folder and not os.path.isdir(folder):
            missing.insert(0, folder)
            folder = os.path.dirname(folder)
        for path in missing:
            try:
                os.mkdir(path, 0o700)
            except OSError as exc:
                # EEXIST: created meanwhile, and a folder (not a file, whose mode this would change)
                if exc.errno != errno.EEXIST or not os.path.isdir(path):
                    os.unlink(self.tmp_src)
                    self.fail("cannot create %s: %s; the transferred copy was removed" % (path, exc.strerror))
            args = self.module.load_file_common_arguments(self.module.params, path=path)
            args["mode"] = mode
            self.module.set_fs_attributes_if_different(args, True)

    def install(self):
        """Check the transferred file and move it into place."""
        try:
            st = os.lstat(self.tmp_src)
        except OSError as exc:
            self.fail("cannot read the transferred copy %s: %s" % (self.tmp_src, exc.strerror))
        if not stat.S_ISREG(st.st_mode):
            self.fail("the transferred copy %s is not a regular file" % self.tmp_src)
        # dest may have changed since the probe; a folder or a FIFO there must not be replaced by the file
        self.dest_stat()
        self.check_folder()
        size = st.st_size
        try:
            got, _cached = file_sha256(self.tmp_src, use_cache=False)
        except OSError as exc:
            self.fail("cannot read the transferred copy %s: %s" % (self.tmp_src, exc.strerror))
        if got != self.want:
            os.unlink(self.tmp_src)
            self.fail(
                "%s arrived on the node with sha256 %s (%d bytes), expected %s; the transferred copy was removed and "
                "%s was left as it was" % (self.module.params["src"], got, size, self.want, self.dest)
            )
        self.make_folder(os.path.dirname(self.dest))
        self.warn_if_copied_across()
        self.module.atomic_move(self.tmp_src, self.dest)
        self.attributes(True)
        if self.cache:
            remember_sha256(self.dest, got)
        return dict(size=size, copied=True, transferred=size, changed=True)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="path", required=True),
            dest=dict(type="path", required=True),
            directory_mode=dict(type="raw"),
            sha256=dict(type="str", required=True),
            checksum_cache=dict(type="bool", default=True),
            probe=dict(type="bool", default=True),
            _tmp_src=dict(type="path"),
            _src_size=dict(type="int", default=0),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    problem = option_problem(module.params)
    if problem:
        module.fail_json(msg=problem)
    module.exit_json(**VerifiedCopy(module).run())


if __name__ == "__main__":
    main()
