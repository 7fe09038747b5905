# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.gpufleet.triton.plugins.module_utils._file_digest import is_sha256
from ansible_collections.gpufleet.triton.plugins.module_utils._file_mode import (
    DIRECTORY_MODE_EXPECTED,
    MODE_EXPECTED,
    attributes_ok,
    directory_mode_ok,
    mode_ok,
)
from ansible_collections.gpufleet.triton.plugins.module_utils._owner_ids import MAX_ID, numeric_id_ok
from ansible_collections.gpufleet.triton.plugins.plugin_utils._action_args import controller_path, task_args, task_bool
from ansible_collections.gpufleet.triton.plugins.plugin_utils._room import check_room

MODULE = "gpufleet.triton.verified_copy"


def check_options(args):
    """What can be checked on the controller, before anything is sent: the module applies these only once the file
    has arrived (it checks them again, with owner and group names, which only the node can look up)."""
    if not isinstance(args.get("dest"), str):
        # the module would take str() of it, "['a']", as a file name
        raise AnsibleActionFail("dest must be a path on the node (a string), got %r" % (args.get("dest"),))
    if not is_sha256(args.get("sha256")):
        raise AnsibleActionFail("sha256 must be 64 hexadecimal digits, got %r" % (args.get("sha256"),))
    mode, directory_mode, attributes = args.get("mode"), args.get("directory_mode"), args.get("attributes")
    if mode is not None and not mode_ok(mode):
        raise AnsibleActionFail("mode must be %s, got %r" % (MODE_EXPECTED, mode))
    if directory_mode is not None and not directory_mode_ok(directory_mode):
        raise AnsibleActionFail("directory_mode must be %s, got %r" % (DIRECTORY_MODE_EXPECTED, directory_mode))
    if attributes is not None and not attributes_ok(attributes):
        raise AnsibleActionFail("attributes must be chattr flags such as '+i' or '-e', got %r" % (attributes,))
    for name in ("owner", "group"):
        if args.get(name) is not None and not numeric_id_ok(args[name]):
            raise AnsibleActionFail(
                "%s must be a name or a numeric id from 0 to %d, got %r" % (name, MAX_ID, args[name])
            )


class ActionModule(ActionBase):
    # The remote temporary folder is made only when the file must be sent: a node that already has the file costs one
    # module call, not three round trips.
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = task_args(self, internal=("_tmp_src", "_src_size"), required=("src", "dest"))
        ask = task_bool(args, "probe", True)
        src = controller_path(self, args["src"])
        if not os.path.isfile(src):
            raise AnsibleActionFail("src %s on the controller is not a regular file" % src)
        args.update(src=src, _src_size=os.path.getsize(src))
        check_options(args)

        try:
            if self._task.check_mode or ask:
                probe = self._execute_module(MODULE, module_args=args, task_vars=task_vars)
                if probe.get("failed") or not probe.get("copied") or self._task.check_mode:
                    result.update(probe)
                    return result
            if self._connection._shell.tmpdir is None:
                self._make_tmp_path()
            tmpdir = self._connection._shell.tmpdir
            tmp_src = self._connection._shell.join_path(tmpdir, os.path.basename(src))
            check_room(self, src, args["dest"], src)
            # The connection's own transfer; the module then reads the arrived file once, for its sha256.
            self._connection.put_file(src, tmp_src)
            self._fixup_perms2((tmpdir, tmp_src))
            args["_tmp_src"] = tmp_src
            result.update(self._execute_module(MODULE, module_args=args, task_vars=task_vars))
            warning = self._compression_warning()
            if warning:
                result.setdefault("warnings", []).append(warning)
            return result
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)

    def _compression_warning(self):
        """Ansible's default ssh_args compress (-C): measured 8-10x slower than scp for image tarballs."""
        if self._connection.transport not in ("ssh", "ansible.builtin.ssh"):
            return None
        try:
            ssh_args = " ".join(str(self._connection.get_option(o) or "") for o in ("ssh_args", "ssh_common_args"))
        except KeyError:
            return None
        words = ssh_args.replace("=", " ").split()
        compressed = "-C" in words or any(
            w.lower() == "compression" and n.lower() == "yes" for w, n in zip(words, words[1:])
        )
        if not compressed:
            return None
        return (
            "the SSH connection compresses (-C in ssh_args, Ansible's default): multi-GB tarballs then move at zlib's "
            "speed, 8-10x slower than scp in benchmarks/verified_copy.py. Set ssh_args without -C, e.g. "
            "'-o ControlMaster=auto -o ControlPersist=60s' (ansible.cfg [ssh_connection], or ansible_ssh_args)."
        )
