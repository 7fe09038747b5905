# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check a `docker save` archive (plain, gzip or zstd) without loading it; print its image ID as JSON.

usage: image_archive_check.py ARCHIVE [--image NAME:TAG] [--image-id sha256:HEX] [--sha256 HEX]

Reads the whole archive once as a stream (a truncated or corrupted archive fails), finds manifest.json, takes the
entry for NAME:TAG (or the only entry), checks that its config blob is present and hashes to the image ID and that
every layer it names is present. With --sha256, the file's own sha256 is taken on the same read and checked first
(a mismatch is reported before any archive error). Exit 0 with {"image_id", "repo_tags", "compression", "sha256",
"size"}; exit 1 with {"msg"}.
Standard library only (zstd archives need the zstd program).
"""

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile

SMALL = 16 * 1024 * 1024  # members hashed while streaming: configs and index files, not layers


def fail(msg):
    print(json.dumps({"failed": True, "msg": msg}))
    sys.exit(1)


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


def compression_of(path):
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic[:2] == b"\x1f\x8b":
        return "gzip"
    if magic == b"\x28\xb5\x2f\xfd":
        return "zstd"
    return "none"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("archive")
    parser.add_argument("--image", default="")
    parser.add_argument("--image-id", default="")
    parser.add_argument("--sha256", default="", help="expected sha256 of the file (hex)")
    args = parser.parse_args()
    path = args.archive
    hashed = None

    try:
        compression = compression_of(path)
    except OSError as exc:
        fail(f"cannot read image archive {path}: {exc}")

    def check_sha256():
        if args.sha256 and hashed.sha256.hexdigest() != args.sha256.lower():
            fail(f"checksum mismatch: {path} has sha256 {hashed.sha256.hexdigest()}, expected {args.sha256.lower()}")

    proc = None
    if compression == "zstd":
        # zstd reads the file itself: hash it first, on a read of its own.
        try:
            hashed = file_sha256(path)
        except OSError as exc:
            fail(f"cannot read image archive {path}: {exc}")
        check_sha256()
        try:
            proc = subprocess.Popen(["zstd", "-dcq", "--", path], stdout=subprocess.PIPE)
        except OSError as exc:
            fail(f"{path} is zstd-compressed and the zstd program cannot run: {exc}")
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
            check_sha256()
        fail(f"image archive {path} is corrupted or truncated ({exc}): expected a complete `docker save` tar")
    finally:
        stream.close()
        if proc is not None and proc.wait() != 0:
            fail(f"image archive {path}: zstd could not decompress it (exit {proc.returncode}): corrupted or truncated")
    check_sha256()

    if not isinstance(manifest, list) or not manifest:
        fail(f"image archive {path} has no manifest.json: not a `docker save` archive")

    entries = manifest
    if args.image:
        wanted = args.image if ":" in args.image.rsplit("/", 1)[-1] else args.image + ":latest"
        entries = [e for e in manifest if wanted in (e.get("RepoTags") or [])]
        if not entries and not args.image_id:
            tags = sorted(t for e in manifest for t in (e.get("RepoTags") or []))
            fail(
                "image archive {} does not contain {} (it holds: {})".format(
                    path, wanted, ", ".join(tags) or "untagged images"
                )
            )
    if args.image_id:
        entries = [e for e in manifest if image_id_of(e) == args.image_id]
        if not entries:
            fail(
                "image archive {} does not contain image {} (it holds: {})".format(
                    path, args.image_id, ", ".join(image_id_of(e) for e in manifest)
                )
            )
    if len(entries) != 1:
        fail(f"image archive {path} holds {len(entries)} images; name the one expected with image_cache_image")
    entry = entries[0]
    image_id = image_id_of(entry)
    config = entry.get("Config", "")
    if digests.get(config) != image_id.split(":", 1)[1]:
        fail(f"image archive {path}: config {config} of {image_id} is missing or does not hash to its ID (corrupted)")
    missing = [layer for layer in entry.get("Layers") or [] if layer not in names]
    if missing:
        fail(
            "image archive {} lacks layers {} of image {}: incomplete archive".format(
                path, ", ".join(missing), image_id
            )
        )
    print(
        json.dumps(
            {
                "image_id": image_id,
                "repo_tags": entry.get("RepoTags") or [],
                "compression": compression,
                "sha256": hashed.sha256.hexdigest(),
                "size": hashed.size,
            }
        )
    )


def image_id_of(entry):
    config = entry.get("Config", "")
    hexid = config.rsplit("/", 1)[-1]
    if hexid.endswith(".json"):
        hexid = hexid[: -len(".json")]
    return "sha256:" + hexid


def zlib_error():
    import zlib

    return zlib.error


if __name__ == "__main__":
    main()
