#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: docker_daemon_config
short_description: Merge keys into the Docker engine's daemon.json
version_added: 0.1.0
description:
  - Sets the keys given in O(settings) in Docker's C(daemon.json) and deletes those named in O(remove); every key not
    named is left exactly as it is, so several roles can each own a part of the file (for example the engine role owns
    C(log-driver) and C(live-restore), the NVIDIA container toolkit role owns C(runtimes.nvidia)).
  - Dictionary values are merged recursively into the dictionaries already in the file (setting C(runtimes.nvidia)
    keeps any other runtime); lists and scalar values replace what was there.
  - The existing file is parsed first; when it is not valid JSON (or not a JSON object, or holds C(NaN) or C(Infinity),
    which dockerd rejects) the task fails, naming the file and the line and column of the error, and nothing is
    written. So does a O(path) that is a folder, a FIFO, a socket or a symbolic link loop.
  - Values are compared with their JSON types, so V(1) is not V(true) and V(3.0) is not V(3) (dockerd rejects a
    number given to a boolean option), and a value of another type is a change.
  - The file is rewritten (atomically, in the same directory) only when its effective content changes; formatting
    differences alone never cause a write. The parent directory is created when absent.
  - The module does not restart the engine; notify a handler when RV(ignore:changed) is true.
author:
  - gpufleet.triton maintainers (@gpufleet)
attributes:
  check_mode:
    support: full
    description: Computes the result and the diff without writing anything.
  diff_mode:
    support: full
    description: Returns the effective content before and after, as indented JSON.
options:
  path:
    description:
      - Absolute path of the engine's configuration file. A symbolic link is followed (its target is written).
    type: path
    default: /etc/docker/daemon.json
  settings:
    description:
      - Keys to set, with their values. Nested dictionaries are merged recursively into existing dictionaries; lists and
        scalars replace the existing value.
      - Required unless O(remove) is given.
      - Numbers must be finite (JSON has no C(NaN) or C(Infinity)).
    type: dict
  remove:
    description:
      - Keys to delete. A top-level key (V(insecure-registries)) or a dotted path into nested dictionaries
        (V(runtimes.nvidia)). An item that names an existing top-level key exactly is taken as that key, even when it
        contains dots.
      - Removal happens before O(settings) is merged. Keys that are absent are ignored.
    type: list
    elements: str
  mode:
    description:
      - Permissions of the file, as an octal string (V('0644'), V('644') or V('0o644')) or a number (YAML reads an
        unquoted V(0644) as the number 420, which is mode 0644).
      - From V('0000') to V('0777') and not writable by others (anyone who can write C(daemon.json) controls the
        engine, which runs as root); the setuid, setgid and sticky bits are refused.
    type: raw
    default: '0644'
  backup:
    description: Keep a time-stamped copy of the previous file when it is changed.
    type: bool
    default: false
  pid_file:
    description:
      - The engine's PID file, read to tell whether the engine runs (RV(engine_running)).
    type: path
    default: /run/docker.pid
notes:
  - The file is written as indented JSON; the order of the existing keys is kept and new keys are appended.
  - A missing or empty file is taken as an empty configuration.
seealso:
  - name: Docker daemon configuration file
    description: The keys C(daemon.json) accepts.
    link: https://docs.docker.com/reference/cli/dockerd/#daemon-configuration-file
"""

EXAMPLES = r"""
- name: Set the engine's logging and live-restore, leaving every other key alone
  gpufleet.triton.docker_daemon_config:
    settings:
      log-driver: json-file
      log-opts:
        max-size: 50m
        max-file: "5"
      live-restore: true
  notify: Restart docker

- name: Register the NVIDIA runtime (other runtimes are kept)
  gpufleet.triton.docker_daemon_config:
    settings:
      runtimes:
        nvidia:
          path: nvidia-container-runtime
          runtimeArgs: []

- name: Drop the insecure registries and the nvidia runtime
  gpufleet.triton.docker_daemon_config:
    remove:
      - insecure-registries
      - runtimes.nvidia
"""

RETURN = r"""
config:
  description: The effective content of the file after the task (what it would be, in check mode).
  returned: success
  type: dict
  sample:
    log-driver: json-file
    live-restore: true
    runtimes:
      nvidia:
        path: nvidia-container-runtime
backup_file:
  description: Name of the backup file, when O(backup=true) and the file was changed.
  returned: changed and O(backup=true) and a previous file existed
  type: str
  sample: /etc/docker/daemon.json.12345.2024-01-01@00:00:00~
engine_running:
  description:
    - Whether the process named in O(pid_file) was alive when the task ran. A running engine must be restarted to
      apply a changed file; one that starts later (e.g. installed after this task) reads it as it starts.
  returned: success
  type: bool
  sample: true
diff:
  description: Effective content before and after, as indented JSON.
  returned: diff mode
  type: dict
  contains:
    before:
      description: Content before the task.
      type: str
    after:
      description: Content after the task.
      type: str
"""

import copy
import errno
import json
import math
import os
import re
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible_collections.gpufleet.triton.plugins.module_utils._regular_file import read_regular


def _merge(base, update):
    """Merge ``update`` into ``base`` (in place): dicts recursively, everything else replaced."""
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def _remove(config, item):
    """Delete a top-level key or a dotted path; absent keys are ignored."""
    if item in config:
        del config[item]
        return
    parts = item.split(".")
    node = config
    for part in parts[:-1]:
        node = node.get(part)
        if not isinstance(node, dict):
            return
    node.pop(parts[-1], None)


def _non_finite(value, where):
    """The dotted key of the first NaN or infinite number in value (None when there is none)."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return where
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in children:
        found = _non_finite(child, "%s.%s" % (where, key) if where else str(key))
        if found is not None:
            return found
    return None


def _refuse_constant(token):
    raise ValueError("%s is not a JSON number" % token)


def _finite_float(text):
    number = float(text)
    if math.isinf(number):
        raise ValueError("%s is too large for a JSON number" % text)
    return number


def _canonical(config):
    """Equal for equal JSON with types: json.dumps tells 1 from true and 3.0 from 3 (== does not)."""
    return json.dumps(config, sort_keys=True)


MODE = re.compile(r"^(?:0o?)?([0-7]{3})$")


def parse_mode(mode):
    """The permissions mode asks for, or (None, why not)."""
    if isinstance(mode, bool):
        value = None
    elif isinstance(mode, int):
        value = mode
    elif isinstance(mode, str) and MODE.match(mode):
        value = int(MODE.match(mode).group(1), 8)
    else:
        value = None
    if value is None:
        return None, "mode must be an octal string such as '0644' or a number, got %r" % (mode,)
    if not 0 <= value <= 0o777:
        why = "mode must be between '0000' and '0777' (no setuid, setgid or sticky bit), got %r (0%o)"
        return None, why % (mode, value)
    if value & 0o002:
        # Whoever can write daemon.json chooses what the engine, which runs as root, runs.
        return None, "mode must not let others write daemon.json, got 0%03o" % value
    return value, None


def _render(config):
    return json.dumps(config, indent=2, ensure_ascii=False) + "\n"


def _engine_running(pid_file):
    try:
        pid = int(read_regular(pid_file, 64).strip() or b"0")
        if pid <= 0:
            return False
        os.kill(pid, 0)
    except (IOError, OSError, ValueError, OverflowError) as exc:
        # EPERM: the process exists, it just is not ours to signal.
        return getattr(exc, "errno", None) == errno.EPERM
    return True


class DaemonConfig(object):
    """Reads daemon.json, applies the requested keys, writes it back only when the effective content changed."""

    def __init__(self, module):
        self.module = module
        self.path = os.path.realpath(module.params["path"])
        self.settings = module.params["settings"] or {}
        self.remove = module.params["remove"] or []
        self.mode = None  # set by run(), from parse_mode
        self.result = dict(changed=False)

    def load(self):
        b_path = to_bytes(self.path, errors="surrogate_or_strict")
        try:
            st = os.stat(b_path)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None, {}
            # ELOOP: a symbolic link loop, which realpath leaves as it is.
            self.module.fail_json(msg="path: cannot use %s: %s" % (self.path, to_native(exc.strerror or exc)))
        if not stat.S_ISREG(st.st_mode):
            kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            msg = "path: %s is %s, expected a JSON file (or nothing); nothing was changed" % (self.path, kind)
            self.module.fail_json(msg=msg)
        try:
            raw = to_text(read_regular(b_path), errors="surrogate_or_strict")
        except (IOError, OSError, UnicodeError) as exc:
            self.module.fail_json(msg="Cannot read %s (expected a UTF-8 JSON file): %s" % (self.path, to_native(exc)))
        if not raw.strip():
            return raw, {}
        try:
            config = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
        except RecursionError:
            self.module.fail_json(msg="%s nests JSON too deeply to read; nothing was changed" % self.path)
        except ValueError as exc:
            where = ""
            if getattr(exc, "lineno", None) is not None:
                where = " at line %d, column %d" % (exc.lineno, exc.colno)
            self.module.fail_json(
                msg="%s is not valid JSON%s: %s; fix or remove the file, nothing was changed"
                % (self.path, where, getattr(exc, "msg", to_native(exc)))
            )
        if not isinstance(config, dict):
            self.module.fail_json(
                msg="%s must hold a JSON object, found %s; nothing was changed" % (self.path, type(config).__name__)
            )
        return raw, config

    def write(self, content):
        b_path = to_bytes(self.path, errors="surrogate_or_strict")
        b_dir = os.path.dirname(b_path)
        if not os.path.isdir(b_dir):
            try:
                os.makedirs(b_dir, 0o755)
            except OSError as exc:
                self.module.fail_json(msg="Cannot create %s: %s" % (to_native(b_dir), to_native(exc)))
        if self.module.params["backup"] and os.path.exists(b_path):
            self.result["backup_file"] = self.module.backup_local(self.path)
        try:
            fd, tmp = tempfile.mkstemp(prefix=b".daemon.json.", dir=b_dir)
        except OSError as exc:
            self.module.fail_json(msg="Cannot write %s: %s" % (self.path, to_native(exc)))
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(to_bytes(content, errors="surrogate_or_strict"))
        except (IOError, OSError) as exc:
            os.unlink(tmp)
            self.module.fail_json(msg="Cannot write %s: %s" % (self.path, to_native(exc)))
        # atomic_move keeps the mode of the file it replaces (or applies the umask to a new one): set ours after.
        self.module.atomic_move(tmp, b_path)
        self.module.set_mode_if_different(self.path, self.mode, False)

    def mode_differs(self):
        b_path = to_bytes(self.path, errors="surrogate_or_strict")
        if not os.path.exists(b_path):
            return False
        return stat.S_IMODE(os.stat(b_path).st_mode) != self.mode

    def run(self):
        # Every option is checked before the file is looked at.
        self.mode, why = parse_mode(self.module.params["mode"])
        if why:
            self.module.fail_json(msg=why)
        bad = _non_finite(self.settings, "")
        if bad is not None:
            self.module.fail_json(msg="settings: %s is not a finite number (JSON has no NaN or Infinity)" % bad)
        if not os.path.isabs(self.module.params["path"]):
            self.module.fail_json(msg="path must be absolute, got %r" % self.module.params["path"])

        raw, before = self.load()
        after = copy.deepcopy(before)
        for item in self.remove:
            _remove(after, item)
        _merge(after, self.settings)

        # A missing file is created only when there is something to put in it.
        content_changed = bool(after) if raw is None else _canonical(after) != _canonical(before)
        mode_changed = not content_changed and self.mode_differs()
        self.result["changed"] = content_changed or mode_changed
        self.result["config"] = after
        self.result["engine_running"] = _engine_running(self.module.params["pid_file"])

        if self.module._diff:
            self.result["diff"] = dict(
                before="" if raw is None else _render(before),
                after=_render(after) if (raw is not None or content_changed) else "",
                before_header=self.path,
                after_header=self.path,
            )

        if self.module.check_mode:
            return self.result
        if content_changed:
            self.write(_render(after))
        elif mode_changed:
            self.module.set_mode_if_different(self.path, self.mode, False)
        return self.result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/docker/daemon.json"),
            settings=dict(type="dict"),
            remove=dict(type="list", elements="str"),
            mode=dict(type="raw", default="0644"),
            backup=dict(type="bool", default=False),
            pid_file=dict(type="path", default="/run/docker.pid"),
        ),
        required_one_of=[("settings", "remove")],
        supports_check_mode=True,
    )
    module.exit_json(**DaemonConfig(module).run())


if __name__ == "__main__":
    main()
