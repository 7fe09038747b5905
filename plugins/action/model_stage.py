# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import hashlib
import json
import os
import shutil
import stat
import tarfile

from ansible import constants as C
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.gpufleet.triton.plugins.module_utils._model_names import model_name_error
from ansible_collections.gpufleet.triton.plugins.plugin_utils._action_args import controller_path, task_args
from ansible_collections.gpufleet.triton.plugins.plugin_utils._room import check_room, room_shortfall

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


def archive_size(found):
    """Bytes of the uncompressed PAX archive of `found`, rounded up: a header and a possible extended header per
    entry, each file's data in 512-byte blocks, and the end of the archive."""
    blocks = sum(3 + (-(-st.st_size // 512) if stat.S_ISREG(st.st_mode) else 0) for _name, _path, st in found)
    return blocks * 512 + tarfile.RECORDSIZE


def check_controller_room(found, what, folder):
    """Fail before packing when the controller's folder cannot take the archive (`what`) and keep its reserve."""
    usage = shutil.disk_usage(folder)
    short = room_shortfall(usage.free, usage.total, archive_size(found), what)
    if short:
        raise AnsibleActionFail(
            "the controller's local temporary folder %s has %s. Point local_tmp in ansible.cfg (ANSIBLE_LOCAL_TEMP) at "
            "a folder with room" % (folder, short)
        )


def run_archive(found, what):
    """(path, manifest, packed here) of the archive of `found` (`what`, for messages), packed once per run.

    Every node of a rollout usually needs the same changed models: packing them per node read and wrote them once per
    node, and with many forks held one archive per fork on the controller's disk at once. The first task of the run
    that needs these files packs them; the others wait for it and send the same archive. It lives in Ansible's local
    temporary folder for this run (DEFAULT_LOCAL_TMP, shared by the run's workers and removed when the run ends).
    A file changed on the controller during the run has another stat, hence another archive.
    """
    key = hashlib.sha256(
        json.dumps(
            [(name, path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_mode) for name, path, st in found]
        ).encode("utf-8")
    ).hexdigest()
    base = os.path.join(C.DEFAULT_LOCAL_TMP, "gpufleet-models-%s" % key[:32])
    with open(base + ".lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            with open(base + ".json") as handle:
                return base + ".tar", json.load(handle), False
        except FileNotFoundError:
            pass
        check_controller_room(found, what, C.DEFAULT_LOCAL_TMP)
        try:
            manifest = pack(found, base + ".tar")
            with open(base + ".json.part", "w") as handle:
                json.dump(manifest, handle)
            os.rename(base + ".json.part", base + ".json")
        except BaseException:
            for path in (base + ".tar", base + ".json.part"):
                if os.path.exists(path):
                    os.unlink(path)
            raise
        return base + ".tar", manifest, True


class ActionModule(ActionBase):
    # The remote temporary folder is made only when there is something to send (not in check mode).
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = task_args(self, internal=("_tmp_src", "_manifest"), required=("src", "dest", "models"))
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
            removed=[], changed=bool(models), archive_shared=False,
        )  # fmt: skip
        if not models or self._task.check_mode:
            result.update(summary)
            return result

        what = "the archive of the models " + ", ".join(models)
        archive_path, manifest, packed = run_archive(found, what)
        try:
            args.update(src=src, _manifest=manifest)
            if self._connection._shell.tmpdir is None:
                self._make_tmp_path()
            tmpdir = self._connection._shell.tmpdir
            remote = self._connection._shell.join_path(tmpdir, "models.tar")
            check_room(self, archive_path, args["dest"], what)
            # The connection's own transfer; the module then unpacks the arrived archive once, checking each file.
            self._connection.put_file(archive_path, remote)
            self._fixup_perms2((tmpdir, remote))
            args["_tmp_src"] = remote
            result.update(self._execute_module(MODULE, module_args=args, task_vars=task_vars))
            result["archive_shared"] = not packed
            return result
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
