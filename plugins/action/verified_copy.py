# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import threading

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.gpufleet.triton.plugins.module_utils._file_digest import ABORT_SUFFIX
from ansible_collections.gpufleet.triton.plugins.plugin_utils._action_args import controller_path, task_args

display = Display()
MODULE = "gpufleet.triton.verified_copy"
# Connections whose put_file writes the file front to back, straight into its path, and whose instances can be copied
# so that a transfer and a module call run at once. docker_api is not one: the engine unpacks a tar archive, and sets
# the file's mode after its content.
FOLLOW_TRANSPORTS = frozenset(
    ("ssh", "ansible.builtin.ssh", "local", "ansible.builtin.local", "community.docker.docker")
)


class ActionModule(ActionBase):
    # The remote temporary folder is made only when the file must be sent: a node that already has the file costs one
    # module call, not three round trips.
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        internal = ("_tmp_src", "_src_size", "_follow", "_stall_timeout")
        args = task_args(self, internal=internal, required=("src", "dest"))
        src = controller_path(self, args["src"])
        if not os.path.isfile(src):
            raise AnsibleActionFail("src %s on the controller is not a regular file" % src)
        args.update(src=src, _src_size=os.path.getsize(src))

        try:
            if self._task.check_mode or boolean(args.get("probe", True), strict=False):
                probe = self._execute_module(MODULE, module_args=args, task_vars=task_vars)
                if probe.get("failed") or not probe.get("copied") or self._task.check_mode:
                    result.update(probe)
                    return result
            if self._connection._shell.tmpdir is None:
                self._make_tmp_path()
            tmp_src = self._connection._shell.join_path(self._connection._shell.tmpdir, os.path.basename(src))
            args["_tmp_src"] = tmp_src
            if (
                boolean(args.get("hash_while_arriving", True), strict=False)
                and self._connection.transport in FOLLOW_TRANSPORTS
                and not self._is_become_unprivileged()
            ):
                sent = self._send_and_hash_at_once(src, tmp_src, args, task_vars)
                if sent.pop("_recheck", None):
                    # the file has arrived; one read of it decides
                    sent = self._execute_module(MODULE, module_args=args, task_vars=task_vars)
            else:
                self._transfer_file(src, tmp_src)
                self._fixup_perms2((self._connection._shell.tmpdir, tmp_src))
                sent = self._execute_module(MODULE, module_args=args, task_vars=task_vars)
            result.update(sent)
            warning = self._compression_warning()
            if warning:
                result.setdefault("warnings", []).append(warning)
            return result
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)

    def _send_and_hash_at_once(self, src, tmp_src, args, task_vars):
        """The transfer on a copy of the connection, and the module hashing the arriving bytes, at the same time.

        Gives the module's result; with _recheck set, the finished file must be checked by a further call. A copy of
        the connection keeps each run's per-command state (the SSH plugin's escalation flags) apart; the module call
        alone escalates.
        """
        sender = copy.copy(self._connection)
        failure = []

        def send():
            try:
                sender.put_file(src, tmp_src)
            except BaseException as exc:  # re-raised below, once the module has stopped waiting for the bytes
                failure.append(exc)
                try:
                    sender.exec_command("touch %s" % sender._shell.quote(tmp_src + ABORT_SUFFIX), sudoable=False)
                except Exception as mark_exc:
                    display.warning(
                        "%s: could not mark the failed transfer (%s); the node stops waiting for the bytes after "
                        "its stall timeout" % (tmp_src, mark_exc)
                    )

        thread = threading.Thread(target=send, name="verified_copy-send", daemon=True)
        thread.start()
        try:
            result = self._execute_module(MODULE, module_args=dict(args, _follow=True), task_vars=task_vars)
        finally:
            thread.join()
        if failure:
            raise failure[0]
        return result

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
