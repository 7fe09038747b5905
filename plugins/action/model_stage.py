# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import stat
import tarfile
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.gpufleet.triton.plugins.module_utils._model_names import model_name_error
from ansible_collections.gpufleet.triton.plugins.plugin_utils._action_args import controller_path, task_args, task_bool
from ansible_collections.gpufleet.triton.plugins.plugin_utils._send_beside import send_to_module

MODULE = "gpufleet.triton.model_stage"


class HashingReader:
    """Wraps a file so that tarfile's read of it also takes its sha256: each file is read once on the controller."""

    def __init__(self, fileobj):
        self.fileobj = fileobj
        self.digest = hashlib.sha256()

    def read(self, size=-1):
        chunk = self.fileobj.read(size)
        self.digest.update(chunk)
        return chunk


def entries(src, models):
    """(archive name, controller path, stat) for every folder and file of the models, links followed, sorted."""
    found = []
    for model in models:
        top = os.path.join(src, model)
        if not os.path.isdir(top):
            raise AnsibleActionFail("model %s: %s is not a folder on the controller" % (model, top))
        seen_dirs = set()
        for folder, dirs, files in os.walk(top, followlinks=True, onerror=_walk_error):
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in seen_dirs:
                raise AnsibleActionFail("%s is a symbolic link loop on the controller" % folder)
            seen_dirs.add((st.st_dev, st.st_ino))
            dirs.sort()
            rel = os.path.relpath(folder, src)
            found.append((rel, folder, st))
            for name in sorted(files):
                path = os.path.join(folder, name)
                try:
                    fst = os.stat(path)
                except OSError as exc:
                    raise AnsibleActionFail("%s cannot be read on the controller: %s" % (path, exc.strerror)) from exc
                if not stat.S_ISREG(fst.st_mode):
                    raise AnsibleActionFail("%s is not a regular file or folder; models hold only those" % path)
                found.append((os.path.join(rel, name), path, fst))
    return found


def _walk_error(exc):
    raise AnsibleActionFail("%s cannot be read on the controller: %s" % (exc.filename, exc.strerror))


def pack(found, archive_path):
    """Write the uncompressed archive; returns {archive name: sha256, or '' for a folder}."""
    manifest = {}
    with tarfile.open(archive_path, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, path, st in found:
            info = tarfile.TarInfo(name)
            info.mtime = int(st.st_mtime)
            info.uid = info.gid = 0
            if stat.S_ISDIR(st.st_mode):
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(info)
                manifest[name] = ""
                continue
            info.size, info.mode = st.st_size, 0o755 if st.st_mode & 0o111 else 0o644
            with open(path, "rb") as fileobj:
                reader = HashingReader(fileobj)
                archive.addfile(info, reader)
            manifest[name] = reader.digest.hexdigest()
    return manifest


class ActionModule(ActionBase):
    # The remote temporary folder is made only when there is something to send (not in check mode).
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        internal = ("_tmp_src", "_manifest", "_src_size", "_follow", "_stall_timeout")
        args = task_args(self, internal=internal, required=("src", "dest", "models"))
        follow = task_bool(args, "unpack_while_arriving", True)
        models = args["models"]
        if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
            raise AnsibleActionFail("models must be a list of folder names, got %r" % (models,))
        for name in models:
            if model_name_error(name):
                raise AnsibleActionFail("models: " + model_name_error(name))
        src = controller_path(self, args["src"])
        found = entries(src, models)
        files = [e for e in found if not stat.S_ISDIR(e[2].st_mode)]
        summary = dict(
            dest=args["dest"], models=models, files=len(files), bytes=sum(e[2].st_size for e in files),
            removed=[], changed=bool(models),
        )  # fmt: skip
        if not models or self._task.check_mode:
            result.update(summary)
            return result

        fd, archive_path = tempfile.mkstemp(prefix="gpufleet-models-", suffix=".tar")
        os.close(fd)
        try:
            args.update(src=src, _manifest=pack(found, archive_path))
            if self._connection._shell.tmpdir is None:
                self._make_tmp_path()
            remote = self._connection._shell.join_path(self._connection._shell.tmpdir, "models.tar")
            args.update(_tmp_src=remote, _src_size=os.path.getsize(archive_path))
            result.update(send_to_module(self, archive_path, remote, MODULE, args, task_vars, follow=follow))
            return result
        finally:
            os.unlink(archive_path)
            self._remove_tmp_path(self._connection._shell.tmpdir)
