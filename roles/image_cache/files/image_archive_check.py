# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check a `docker save` archive (plain, gzip or zstd) without loading it; print its image ID as JSON.

usage: image_archive_check.py ARCHIVE [--image NAME:TAG] [--image-id sha256:HEX] [--sha256 HEX]
                              [--record | --record-readonly | --no-record]

Reads the whole archive once as a stream (a truncated or corrupted archive fails), finds manifest.json, takes the
entry for NAME:TAG (or the only entry), checks that its config blob is present and hashes to the image ID and that
every layer it names is present. With --sha256, the file's own sha256 is taken on the same read and checked first
(a mismatch is reported before any archive error). Exit 0 with {"image_id", "repo_tags", "compression", "sha256",
"size", "cached"}; exit 1 with {"msg"}.

With --record, what one read learnt of a complete archive is kept on the file, in extended attributes: its sha256 in
the record verified_copy and the converge stamp share (plugins/module_utils/_file_digest.py), and its compression and
each image's ID, tags and completeness beside it. A later run answers from them without reading the file while the
file's size, modification time and inode are those recorded (rsync's quick check: a rewrite, `touch` or copy-over
changes one). Archives that fail to read are never recorded. --record-readonly uses a record but writes none (check
mode). Where the file system keeps no user extended attributes, or the file is read-only to this user, nothing is
kept and every run reads the file.
Standard library only (zstd archives need the zstd program).
"""

import argparse
import fcntl
import hashlib
import json
import os
import subprocess
import sys
import tarfile

SMALL = 16 * 1024 * 1024  # members hashed while streaming: configs and index files, not layers
RECORD_VERSION = 1


class CheckFailed(Exception):
    pass


class HashingReader:
    """A file read once: what tarfile reads is hashed on the way; drain() hashes the rest."""

    def __init__(self, f):
        self.f = f
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, n=-1):
        data = self.f.read(n)
        self.sha256.update(data)
        self.size += len(data)
        return data

    def drain(self):
        while self.read(1024 * 1024):
            pass

    def close(self):
        self.f.close()


def file_sha256(path):
    reader = HashingReader(open(path, "rb"))
    try:
        reader.drain()
    finally:
        reader.close()
    return reader


def unreadable(path, exc):
    if isinstance(exc, FileNotFoundError):
        return CheckFailed(f"image archive {path} does not exist")
    return CheckFailed(f"cannot read image archive {path}: {exc.strerror or exc}")


def compression_of(path):
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic[:2] == b"\x1f\x8b":
        return "gzip"
    if magic == b"\x28\xb5\x2f\xfd":
        return "zstd"
    return "none"


def image_id_of(entry):
    config = entry.get("Config", "")
    hexid = config.rsplit("/", 1)[-1]
    if hexid.endswith(".json"):
        hexid = hexid[: -len(".json")]
    return "sha256:" + hexid


def zlib_error():
    import zlib

    return zlib.error


def read_archive(path, want_sha256):
    """One read of the file: {"sha256", "size", "compression", "images": [...]}. Raises CheckFailed."""

    def check_sha256(hashed):
        if want_sha256 and hashed.sha256.hexdigest() != want_sha256:
            raise CheckFailed(
                f"checksum mismatch: {path} has sha256 {hashed.sha256.hexdigest()}, expected {want_sha256}"
            )

    try:
        compression = compression_of(path)
    except OSError as exc:
        raise unreadable(path, exc) from None

    proc = None
    if compression == "zstd":
        # zstd reads the file itself: hash it first, on a read of its own.
        try:
            hashed = file_sha256(path)
        except OSError as exc:
            raise unreadable(path, exc) from None
        check_sha256(hashed)
        try:
            proc = subprocess.Popen(["zstd", "-dcq", "--", path], stdout=subprocess.PIPE)
        except OSError as exc:
            raise CheckFailed(f"{path} is zstd-compressed and the zstd program cannot run: {exc}") from None
        stream = proc.stdout
    else:
        stream = hashed = HashingReader(open(path, "rb"))

    names = set()
    digests = {}
    manifest = None
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            for member in tar:
                name = member.name[2:] if member.name.startswith("./") else member.name
                names.add(name)
                if not member.isfile():
                    continue
                f = tar.extractfile(member)
                if name == "manifest.json":
                    manifest = json.loads(f.read().decode("utf-8"))
                elif member.size <= SMALL:
                    digests[name] = hashlib.sha256(f.read()).hexdigest()
                else:
                    while f.read(1024 * 1024):
                        pass
        if stream is hashed:
            hashed.drain()  # tar's end-of-archive blocks may leave padding unread
    except (tarfile.TarError, EOFError, OSError, ValueError, zlib_error()) as exc:
        if stream is hashed:
            try:
                hashed.drain()
            except OSError:
                pass
            check_sha256(hashed)
        raise CheckFailed(
            f"image archive {path} is corrupted or truncated ({exc}): expected a complete `docker save` tar"
        ) from None
    finally:
        stream.close()
        if proc is not None and proc.wait() != 0:
            raise CheckFailed(
                f"image archive {path}: zstd could not decompress it (exit {proc.returncode}): corrupted or truncated"
            )
    check_sha256(hashed)

    if not isinstance(manifest, list) or not manifest:
        raise CheckFailed(f"image archive {path} has no manifest.json: not a `docker save` archive")
    images = []
    for entry in manifest:
        image_id = image_id_of(entry)
        images.append(
            {
                "image_id": image_id,
                "repo_tags": entry.get("RepoTags") or [],
                "config_ok": digests.get(entry.get("Config", "")) == image_id.split(":", 1)[1],
                "config": entry.get("Config", ""),
                "missing_layers": [layer for layer in entry.get("Layers") or [] if layer not in names],
            }
        )
    return {"sha256": hashed.sha256.hexdigest(), "size": hashed.size, "compression": compression, "images": images}


def select_image(path, archive, image, image_id):
    """The one image the caller expects, checked complete. Raises CheckFailed."""
    entries = archive["images"]
    if image:
        wanted = image if ":" in image.rsplit("/", 1)[-1] else image + ":latest"
        entries = [e for e in entries if wanted in e["repo_tags"]]
        if not entries and not image_id:
            tags = sorted(t for e in archive["images"] for t in e["repo_tags"])
            raise CheckFailed(
                "image archive {} does not contain {} (it holds: {})".format(
                    path, wanted, ", ".join(tags) or "untagged images"
                )
            )
    if image_id:
        entries = [e for e in archive["images"] if e["image_id"] == image_id]
        if not entries:
            raise CheckFailed(
                "image archive {} does not contain image {} (it holds: {})".format(
                    path, image_id, ", ".join(e["image_id"] for e in archive["images"])
                )
            )
    if len(entries) != 1:
        raise CheckFailed(
            f"image archive {path} holds {len(entries)} images; name the one expected with image_cache_image"
        )
    entry = entries[0]
    if not entry["config_ok"]:
        raise CheckFailed(
            f"image archive {path}: config {entry['config']} of {entry['image_id']} is missing or does not hash to"
            " its ID (corrupted)"
        )
    if entry["missing_layers"]:
        raise CheckFailed(
            "image archive {} lacks layers {} of image {}: incomplete archive".format(
                path, ", ".join(entry["missing_layers"]), entry["image_id"]
            )
        )
    return entry


# The file's sha256 record, shared with plugins/module_utils/_file_digest.py (verified_copy, the converge stamp):
# "<sha256> <size> <mtime_ns> <inode>" in this extended attribute. The same format, so that a tarball verified_copy
# sent is not hashed again here, and the other way round (tests/unit/roles/test_image_archive_check.py checks it).
SHA256_XATTR = "user.gpufleet.sha256"
# What a read found inside the archive (compression, images): JSON, valid only with a sha256 record that holds and
# names the same sha256.
ARCHIVE_XATTR = "user.gpufleet.image-archive"


class Record:
    """What a read learnt of one archive, kept on the file itself (extended attributes) while its size, modification
    time and inode are those recorded. A file system without user extended attributes (or a file this user may not
    set them on) keeps nothing: every run reads the file."""

    def __init__(self, path):
        self.path = path

    @staticmethod
    def identity(st):
        return f"{st.st_size} {st.st_mtime_ns} {st.st_ino}"

    def load(self, st):
        try:
            digest, identity = os.getxattr(self.path, SHA256_XATTR).decode("ascii").split(" ", 1)
            archive = json.loads(os.getxattr(self.path, ARCHIVE_XATTR).decode("utf-8"))
        except (OSError, ValueError, UnicodeDecodeError, AttributeError):
            return None
        if identity != self.identity(st) or not isinstance(archive, dict) or archive.get("sha256") != digest:
            return None
        if archive.get("version") != RECORD_VERSION:
            return None
        return archive

    def save(self, st, archive):
        """Best effort: a record that cannot be written only costs the next run a read."""
        try:
            os.setxattr(self.path, ARCHIVE_XATTR, json.dumps(dict(archive, version=RECORD_VERSION)).encode("utf-8"))
            os.setxattr(self.path, SHA256_XATTR, f"{archive['sha256']} {self.identity(st)}".encode("ascii"))
        except (OSError, AttributeError):
            pass

    def lock(self):
        """An exclusive lock on the archive itself, held until the returned file is closed: nodes of one batch check
        the same tarball at once (one controller task per node), and all but the first then find its record instead
        of reading the file again. None when the file cannot be locked (the check then runs unlocked)."""
        try:
            held = open(self.path, "rb")
        except OSError:
            return None
        try:
            fcntl.flock(held, fcntl.LOCK_EX)
        except OSError:
            held.close()
            return None
        return held


def check(args):
    path = args.archive
    want_sha256 = args.sha256.lower()
    if args.record or args.record_readonly:
        try:
            st = os.stat(path)
        except OSError as exc:
            raise unreadable(path, exc) from None
        record = Record(path)
        held = None if args.record_readonly else record.lock()
        try:
            return checked(args, path, want_sha256, record, st)
        finally:
            if held is not None:
                held.close()
    return checked(args, path, want_sha256, None, None)


def checked(args, path, want_sha256, record, st):
    archive = record.load(st) if record is not None else None
    cached = archive is not None
    if cached:
        if want_sha256 and archive["sha256"] != want_sha256:
            raise CheckFailed(f"checksum mismatch: {path} has sha256 {archive['sha256']}, expected {want_sha256}")
    else:
        archive = read_archive(path, want_sha256)
        # The identity is taken before the read: a file changed while it was read is read again next time.
        if record is not None and not args.record_readonly and Record.identity(os.stat(path)) == Record.identity(st):
            record.save(st, archive)
    entry = select_image(path, archive, args.image, args.image_id)
    return {
        "image_id": entry["image_id"],
        "repo_tags": entry["repo_tags"],
        "compression": archive["compression"],
        "sha256": archive["sha256"],
        "size": archive["size"],
        "cached": cached,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("archive")
    parser.add_argument("--image", default="")
    parser.add_argument("--image-id", default="")
    parser.add_argument("--sha256", default="", help="expected sha256 of the file (hex)")
    parser.add_argument("--record", action="store_true", help="use the file's record, write one after a read")
    parser.add_argument("--record-readonly", action="store_true", help="use the file's record, write none")
    parser.add_argument("--no-record", dest="record", action="store_false", help="read the file (the default)")
    args = parser.parse_args()
    try:
        print(json.dumps(check(args)))
    except CheckFailed as exc:
        print(json.dumps({"failed": True, "msg": str(exc)}))
        sys.exit(1)


if __name__ == "__main__":
    main()
