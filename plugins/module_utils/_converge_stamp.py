# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a node looks like after a complete site.yml run, and how it differs now.

The stamp holds the controller's digest of the run's inputs and a snapshot of what the roles left on the node: the
files they own (content, mode, owner), services (active, enabled), packages (version), images (present by ID), the
loaded NVIDIA kernel module's version and each Triton instance's health. A later run may skip the roles when the
inputs digest is the same and the snapshot taken again equals the recorded one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
import subprocess

from ansible_collections.gpufleet.triton.plugins.module_utils._file_digest import file_sha256
from ansible_collections.gpufleet.triton.plugins.module_utils._triton_http import TritonHTTPClient, TritonUnreachable

STAMP_VERSION = 1
# The options of converge_stamp and converge_stamp_info (documented in doc_fragments/converge_stamp.py).
COMMON_ARGS = dict(
    path=dict(type="path", default="/var/lib/gpufleet/converged.json"),
    digest=dict(type="str", required=True),
    timeout=dict(type="float", default=5),
)
NVIDIA_MODULE_VERSION = "/sys/module/nvidia/version"


def _run(argv):
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    except OSError as exc:
        return None, str(exc)
    return proc.stdout.decode("utf-8", "replace"), proc.returncode


def _entry(path, remember):
    st = os.lstat(path)
    owner = "%d:%d %04o" % (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
    if stat.S_ISLNK(st.st_mode):
        return "link %s %s" % (os.readlink(path), owner)
    if stat.S_ISDIR(st.st_mode):
        return "dir %s" % owner
    if stat.S_ISREG(st.st_mode):
        return "file %s %s" % (file_sha256(path, remember=remember)[0], owner)
    return "other %s" % owner


def snapshot_paths(paths, remember=True):
    """{path: description} of each path and, for folders, everything below them."""
    found = {}
    for top in sorted(set(paths)):
        if not os.path.lexists(top):
            found[top] = "absent"
            continue
        found[top] = _entry(top, remember)
        if os.path.isdir(top) and not os.path.islink(top):
            for root, dirs, files in os.walk(top):
                dirs.sort()
                for name in sorted(dirs) + sorted(files):
                    path = os.path.join(root, name)
                    found[path] = _entry(path, remember)
    return found


def snapshot_services(services):
    if not services:
        return {}
    out, _rc = _run(["systemctl", "show", "--property=Id,ActiveState,UnitFileState", "--", *sorted(services)])
    if out is None:
        return dict((name, "systemctl unavailable") for name in services)
    blocks = [dict(line.split("=", 1) for line in block.splitlines() if "=" in line) for block in out.split("\n\n")]
    states = {}
    for name, block in zip(sorted(services), [b for b in blocks if b]):
        states[name] = "%s %s" % (block.get("ActiveState", "?"), block.get("UnitFileState", "?") or "-")
    for name in services:
        states.setdefault(name, "unknown")
    return states


def snapshot_packages(packages):
    if not packages:
        return {}
    versions = dict((name, "absent") for name in packages)
    out, rc = _run(["dpkg-query", "-W", "-f=${Package} ${Version} ${db:Status-Abbrev}\n", "--", *sorted(packages)])
    if out is not None and (rc in (0, 1)):
        for line in out.splitlines():
            parts = line.split()
            # Status-Abbrev: the wanted state (i install, h hold, ...), then the current one (i installed).
            if len(parts) >= 3 and parts[0] in versions and parts[2][1:2] == "i":
                versions[parts[0]] = parts[1] + (" held" if parts[2][0] == "h" else "")
        return versions
    out, _rc = _run(["rpm", "-q", "--qf", "%{NAME} %{VERSION}-%{RELEASE}\n", "--", *sorted(packages)])
    if out is None:
        return dict((name, "no package manager") for name in packages)
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in versions:
            versions[parts[0]] = parts[1]
    return versions


def snapshot_images(images):
    if not images:
        return {}
    present = {}
    for image in sorted(set(images)):
        out, rc = _run(["docker", "image", "inspect", "--format", "{{.Id}}", image])
        present[image] = "present" if rc == 0 and out and out.strip() == image else "absent"
    return present


def snapshot_endpoints(endpoints, models, timeout):
    """{url: state}: ready, or what is not (the server, or the models that are not ready)."""
    states = {}
    for url in endpoints:
        client = TritonHTTPClient(url, timeout=timeout)
        try:
            if not client.ready():
                states[url] = "not ready"
                continue
            # per-model readiness: the repository index may be restricted (explicit mode), this never is
            missing = [name for name in sorted(models) if not client.model_ready(name)]
        except TritonUnreachable as exc:
            states[url] = "unreachable (%s)" % exc
            continue
        states[url] = "ready" if not missing else "models not ready: %s" % ", ".join(missing)
    return states


def snapshot(spec, timeout=5, remember=True):
    """remember=False (check mode) leaves the files' digest cache attributes alone."""
    try:
        with open(NVIDIA_MODULE_VERSION) as handle:
            nvidia = handle.read().strip()
    except (IOError, OSError):
        nvidia = "not loaded"
    return {
        "paths": snapshot_paths(spec.get("paths") or [], remember),
        "services": snapshot_services(spec.get("services") or []),
        "packages": snapshot_packages(spec.get("packages") or []),
        "images": snapshot_images(spec.get("images") or []),
        "endpoints": snapshot_endpoints(spec.get("endpoints") or [], spec.get("models") or [], timeout),
        "nvidia_module": nvidia,
    }


def differences(recorded, current):
    """Readable reasons, at most a few per kind, why current differs from recorded."""
    reasons = []
    for kind in ("paths", "services", "packages", "images", "endpoints"):
        before, now = recorded.get(kind) or {}, current.get(kind) or {}
        changed = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
        for key in changed[:5]:
            reasons.append(
                "%s %s: %s, was %s" % (kind[:-1], key, now.get(key, "not listed"), before.get(key, "not listed"))
            )
        if len(changed) > 5:
            reasons.append("%s: %d more differences" % (kind, len(changed) - 5))
    if recorded.get("nvidia_module") != current.get("nvidia_module"):
        reasons.append(
            "NVIDIA kernel module: %s, was %s" % (current.get("nvidia_module"), recorded.get("nvidia_module"))
        )
    return reasons


def read_stamp(path):
    """(stamp dict or None, reason when None)."""
    try:
        with open(path) as handle:
            stamp = json.load(handle)
    except (IOError, OSError):
        return None, "no stamp at %s (no complete run recorded)" % path
    except ValueError:
        return None, "the stamp %s is not valid JSON" % path
    if not isinstance(stamp, dict) or stamp.get("version") != STAMP_VERSION:
        return None, "the stamp %s has another format" % path
    return stamp, None


def spec_of(stamp):
    keys = ("paths", "services", "packages", "images", "endpoints", "models")
    return dict((k, stamp.get("spec", {}).get(k) or []) for k in keys)
