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

import errno
import json
import math
import os
import re
import stat
import subprocess
import time
from urllib.parse import urlsplit

from ansible_collections.gpufleet.triton.plugins.module_utils._file_digest import file_sha256
from ansible_collections.gpufleet.triton.plugins.module_utils._regular_file import read_regular
from ansible_collections.gpufleet.triton.plugins.module_utils._triton_http import TritonHTTPClient, assess, satisfied

# 2: the stamp holds when it was written (converged_at), for max_age.
STAMP_VERSION = 2
# The options of converge_stamp and converge_stamp_info (documented in doc_fragments/converge_stamp.py).
COMMON_ARGS = dict(
    path=dict(type="path", default="/var/lib/gpufleet/converged.json"),
    digest=dict(type="str", required=True),
    timeout=dict(type="float", default=5),
)
SPEC_KEYS = ("paths", "services", "packages", "images", "endpoints", "models")
SNAPSHOT_KINDS = ("paths", "services", "packages", "images", "endpoints")
HEX_DIGITS = frozenset("0123456789abcdef")
MAX_TIMEOUT = 3600
COMMAND_TIMEOUT = 60  # seconds for each systemctl, dpkg-query, rpm or docker command
NVIDIA_MODULE_VERSION = "/sys/module/nvidia/version"
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DURATION = re.compile(r"^(?:[0-9]+|(?:[0-9]+[smhdw])+)$")


def duration_seconds(value):
    """Seconds in `value`: a whole number of seconds, or a duration such as 12h, 1d or 1d12h (s, m, h, d, w).
    ValueError for anything else."""
    text = str(value).strip()
    if isinstance(value, bool) or not DURATION.match(text):
        raise ValueError("%r is neither a whole number of seconds nor a duration such as 12h, 1d or 1d12h" % (value,))
    if text.isdigit():
        return int(text)
    return sum(int(number) * DURATION_UNITS[unit] for number, unit in re.findall(r"([0-9]+)([smhdw])", text))


def _short(value):
    """repr of value, cut to a length a message can hold."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def digest_problem(digest):
    if not isinstance(digest, str) or len(digest) != 64 or not HEX_DIGITS.issuperset(digest):
        return "digest must be 64 lowercase hexadecimal digits, got %s" % _short(digest)
    return None


def timeout_problem(timeout):
    # NaN compares false with everything: it would pass a plain range check, and the socket refuses it.
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT):
        return "timeout must be more than 0 and at most %d seconds, got %s" % (MAX_TIMEOUT, _short(timeout))
    return None


def stamp_path_problem(path, writing=True):
    """Why the stamp cannot be kept (writing: written) at path, or None. Checked before the snapshot, which may tag
    files."""
    if "\0" in path or not os.path.isabs(path):
        return "path must be an absolute file path, got %s" % _short(path)
    if not writing:
        return None
    if os.path.isdir(path) and not os.path.islink(path):
        return "path: %s is a folder, expected the stamp file (or nothing)" % path
    folder = os.path.dirname(path)
    while not os.path.lexists(folder):
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        return "path: %s cannot be created, %s is not a folder" % (path, folder)
    return None


def _text_problem(value):
    if not isinstance(value, str):
        return "%s is not a string" % _short(value)
    if "\0" in value:
        return "%s holds a NUL character" % _short(value)
    return None


def _endpoint_problem(url):
    if any(ord(char) < 33 or ord(char) == 127 for char in url):
        return "%s holds a space or a control character" % _short(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (ValueError when out of range)
    except ValueError as exc:
        return "%s is not a URL (%s)" % (_short(url), exc)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "%s is not an http:// or https:// URL with a host" % _short(url)
    return None


def spec_problem(spec):
    """Why spec ({key: list of strings} for each of SPEC_KEYS) cannot be snapshotted, or None. The same rules for the
    options of converge_stamp and for what a stamp lists, so that neither walks a relative path or a string's
    characters, nor asks a file:// URL."""
    for key in SPEC_KEYS:
        values = spec.get(key)
        if not isinstance(values, list):
            return "%s must be a list of strings, got %s" % (key, _short(values))
        for value in values:
            problem = _text_problem(value)
            if problem is None and key == "paths" and not os.path.isabs(value):
                problem = "%s is not an absolute path" % _short(value)
            if problem is None and key == "endpoints":
                problem = _endpoint_problem(value)
            if problem:
                return "%s: %s" % (key, problem)
    return None


def _run(argv):
    """(stdout, exit status) of argv; (None, the error) when it cannot be started or does not end in time (a hung
    engine or systemd: the node is then not what was recorded, which is safe)."""
    try:
        proc = subprocess.run(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, timeout=COMMAND_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        return None, "no answer within %d s" % COMMAND_TIMEOUT
    except OSError as exc:
        return None, str(exc)
    return proc.stdout.decode("utf-8", "replace"), proc.returncode


def _describe(path, remember):
    """What the snapshot records of one path: its kind, content (files) or target (links), owner and mode."""
    try:
        return _description(path, remember)
    except (IOError, OSError) as exc:  # gone since the folder was listed, a name too long, a file we cannot read
        return "unreadable (%s)" % (exc.strerror or exc)


def _description(path, remember):
    st = os.lstat(path)
    owner_mode = "%d:%d %04o" % (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
    if stat.S_ISLNK(st.st_mode):
        return "link %s %s" % (os.readlink(path), owner_mode)
    if stat.S_ISDIR(st.st_mode):
        return "dir %s" % owner_mode
    if stat.S_ISREG(st.st_mode):
        sha256, _from_cache = file_sha256(path, remember=remember)
        return "file %s %s" % (sha256, owner_mode)
    return "other %s" % owner_mode


def snapshot_paths(paths, remember=True, exclude=()):
    """{path: description} of each path and, for folders, everything below them (links are not followed), but for
    those in exclude (the stamp itself, which changes on every write)."""
    exclude = set(os.path.normpath(path) for path in exclude)
    found = {}
    for top in sorted(set(paths)):
        if os.path.normpath(top) in exclude:
            continue
        if not os.path.lexists(top):
            found[top] = "absent"
            continue
        found[top] = _describe(top, remember)
        if os.path.isdir(top) and not os.path.islink(top):
            for root, dirs, files in os.walk(top):
                dirs.sort()
                for name in sorted(dirs) + sorted(files):
                    path = os.path.join(root, name)
                    if os.path.normpath(path) not in exclude:
                        found[path] = _describe(path, remember)
    return found


UNIT_SUFFIX = re.compile(r"\.(service|socket|timer|mount|automount|path|target|slice|scope|device|swap)$")


def _unit_name(name):
    """systemd's full name for a unit given as `docker` or `docker.service`."""
    return name if UNIT_SUFFIX.search(name) else name + ".service"


def snapshot_services(services):
    """{unit: "<ActiveState> <UnitFileState>"}. One systemctl call; each answer is matched to the unit asked for by
    the unit's Names (its aliases included), not by its place in the output."""
    if not services:
        return {}
    out, _status = _run(["systemctl", "show", "--property=Names,ActiveState,UnitFileState", "--", *sorted(services)])
    if out is None:
        return dict((name, "systemctl unavailable") for name in services)
    states = {}
    for block in out.split("\n\n"):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        names = set(props.get("Names", "").split())
        for name in services:
            if _unit_name(name) in names:
                states[name] = "%s %s" % (props.get("ActiveState", "?"), props.get("UnitFileState") or "-")
    for name in services:
        states.setdefault(name, "unknown")
    return states


DPKG_FIELDS = ("Package", "Version", "db:Status-Abbrev")
RPM_FIELDS = ("NAME", "VERSION", "RELEASE")


def _query_rows(out, fields):
    """The tab-separated rows of a dpkg-query/rpm --queryformat answer, each as {field: value}."""
    return [dict(zip(fields, line.split("\t"))) for line in out.splitlines() if line.count("\t") == len(fields) - 1]


def snapshot_packages(packages):
    """{package: "<version>" (dpkg: "<version> held" when held), "absent" or "no package manager"}."""
    if not packages:
        return {}
    versions = dict((name, "absent") for name in packages)
    dpkg_format = "\t".join("${%s}" % field for field in DPKG_FIELDS) + "\n"
    out, status = _run(["dpkg-query", "-W", "-f=" + dpkg_format, "--", *sorted(packages)])
    if out is not None and status in (0, 1):  # 1: some package is unknown to dpkg
        for row in _query_rows(out, DPKG_FIELDS):
            # db:Status-Abbrev: the wanted state (i install, h hold, ...), then the current one (i installed).
            wanted, current = row["db:Status-Abbrev"][0:1], row["db:Status-Abbrev"][1:2]
            if row["Package"] in versions and current == "i":
                versions[row["Package"]] = row["Version"] + (" held" if wanted == "h" else "")
        return versions
    rpm_format = "\t".join("%%{%s}" % field for field in RPM_FIELDS) + "\n"
    out, _status = _run(["rpm", "-q", "--qf", rpm_format, "--", *sorted(packages)])
    if out is None:
        return dict((name, "no package manager") for name in packages)
    for row in _query_rows(out, RPM_FIELDS):
        if row["NAME"] in versions:
            versions[row["NAME"]] = "%s-%s" % (row["VERSION"], row["RELEASE"])
    return versions


def snapshot_images(images):
    if not images:
        return {}
    present = {}
    for image in sorted(set(images)):
        out, status = _run(["docker", "image", "inspect", "--format", "{{.Id}}", image])
        present[image] = "present" if status == 0 and out and out.strip() == image else "absent"
    return present


def snapshot_endpoints(endpoints, models, timeout):
    """{url: state}: ready, or what is not (the server, or the models that are not ready). Healthy is what the gate
    waits for (server_info wait_for=models_ready): the server ready and every expected model ready."""
    states = {}
    for url in endpoints:
        result = assess(TritonHTTPClient(url, timeout=timeout), dict((name, None) for name in models))
        if "unreachable" in result:
            states[url] = "unreachable (%s)" % result["unreachable"]
        elif not result["ready"]:
            states[url] = "not ready"
        elif satisfied(result, "models_ready"):
            states[url] = "ready"
        else:
            names = sorted(set(m["name"] for m in result["missing"] + result["unavailable"]))
            states[url] = "models not ready: %s" % ", ".join(names)
    return states


def snapshot(spec, timeout=5, remember=True, exclude=()):
    """remember=False (check mode) leaves the files' digest cache attributes alone; exclude: paths left out."""
    try:
        with open(NVIDIA_MODULE_VERSION) as handle:
            nvidia = handle.read().strip()
    except (IOError, OSError):
        nvidia = "not loaded"
    return {
        "paths": snapshot_paths(spec.get("paths") or [], remember, exclude),
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


def _finite_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _string_map(value):
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def stamp_problem(stamp):
    """What in stamp is not as converge_stamp writes it, or None. A stamp that is anything else never vouches for a
    node, and what it lists is never walked."""
    if not isinstance(stamp, dict):
        return "not a JSON object"
    version = stamp.get("version")
    if not (isinstance(version, int) and not isinstance(version, bool) and version == STAMP_VERSION):
        return "version %s, expected %d" % (_short(version), STAMP_VERSION)
    if not isinstance(stamp.get("digest"), str):
        return "digest is not a string"
    if not _finite_number(stamp.get("converged_at")):
        return "converged_at is not a number of seconds"
    if not isinstance(stamp.get("spec"), dict):
        return "spec is not an object"
    problem = spec_problem(stamp["spec"])
    if problem:
        return "spec %s" % problem
    taken = stamp.get("snapshot")
    if not isinstance(taken, dict):
        return "snapshot is not an object"
    for kind in SNAPSHOT_KINDS:
        if not _string_map(taken.get(kind)):
            return "snapshot %s is not an object of strings" % kind
    if not isinstance(taken.get("nvidia_module"), str):
        return "snapshot nvidia_module is not a string"
    # converge_stamp records each path it is given: one that the snapshot lacks was put in afterwards, and walking
    # it (say "/") would look at, and tag, what the stamp never recorded.
    unrecorded = [path for path in stamp["spec"]["paths"] if path not in taken["paths"]]
    if unrecorded:
        return "spec paths: %s is not in its snapshot" % _short(unrecorded[0])
    return None


def read_stamp(path):
    """(stamp dict or None, the reason when None)."""
    try:
        raw = read_regular(path)
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None, "no stamp at %s (no complete run recorded)" % path
        return None, "cannot read the stamp %s: %s" % (path, exc.strerror or exc)
    try:
        stamp = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None, "the stamp %s is not valid JSON" % path
    problem = stamp_problem(stamp)
    if problem:
        return None, "the stamp %s has another format (%s)" % (path, problem)
    return stamp, None


def recorded_spec(stamp):
    """What a stamp that read_stamp accepted lists to snapshot (SPEC_KEYS), as converge_stamp was given it."""
    return dict((key, stamp["spec"][key]) for key in SPEC_KEYS)


def _utc(seconds):
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
    except (OverflowError, ValueError, OSError):  # beyond the years the C library can tell
        return "%r s after 1970" % seconds


def age_reason(stamp, max_age, now=None):
    """Why the stamp is too old (or dated ahead of this node's clock) to skip a run; None when it is not."""
    now = time.time() if now is None else now
    written = stamp.get("converged_at")
    if not _finite_number(written):
        return "the stamp does not say when it was written"
    age = now - written
    when = _utc(written)
    if age > max_age:
        return "the last complete run (%s) is %d s old, more than max_age %d s" % (when, age, max_age)
    if age < -300:  # a clock set back after the stamp was written: the age cannot be told
        return "the stamp's time (%s) is ahead of this node's clock by %d s" % (when, -age)
    return None
