"""gpufleet.triton.verified_copy through `ansible` (action plugin, transfer and module, local connection)."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest
from adhoc import run_adhoc


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def files(tmp_path):
    src = tmp_path / "ctl" / "image.tar"
    src.parent.mkdir()
    src.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    node = tmp_path / "node"
    node.mkdir()
    remote_tmp = tmp_path / "remote-tmp"
    remote_tmp.mkdir()
    return src, node / "image.tar", remote_tmp


def copy(ansible_bin, remote_tmp, args, check=False):
    env = {"ANSIBLE_REMOTE_TMP": str(remote_tmp)}
    _rc, result = run_adhoc(ansible_bin, "gpufleet.triton.verified_copy", args, check=check, env=env)
    assert list(remote_tmp.iterdir()) == [], "the remote temporary folder was left behind"
    return result


def args_for(src, dest, **extra):
    return dict(src=str(src), dest=str(dest), sha256=sha256(src), mode="0640", **extra)


def test_first_copy_then_nothing_sent(ansible_bin, files):
    src, dest, remote_tmp = files
    first = copy(ansible_bin, remote_tmp, args_for(src, dest))
    assert first["changed"] and first["copied"] and first["transferred"] == src.stat().st_size
    assert dest.read_bytes() == src.read_bytes()
    assert stat.S_IMODE(dest.stat().st_mode) == 0o640
    again = copy(ansible_bin, remote_tmp, args_for(src, dest))
    assert not again["changed"] and not again["copied"] and again["transferred"] == 0
    assert again["checksum_cached"], "the second run should use the sha256 remembered in the file's attribute"
    assert again["size"] == src.stat().st_size


def test_a_missing_folder_is_created_with_directory_mode(ansible_bin, files):
    src, dest, remote_tmp = files
    deep = dest.parent / "cache" / "images" / "image.tar"
    res = copy(ansible_bin, remote_tmp, args_for(src, deep, directory_mode="0750"))
    assert res["changed"] and res["copied"]
    assert deep.read_bytes() == src.read_bytes()
    for folder in (deep.parent, deep.parent.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o750, folder
    again = copy(ansible_bin, remote_tmp, args_for(src, deep, directory_mode="0700"))
    assert not again["changed"] and stat.S_IMODE(deep.parent.stat().st_mode) == 0o750, "an existing folder is kept"


def test_a_missing_folder_fails_without_directory_mode(ansible_bin, files):
    src, dest, remote_tmp = files
    deep = dest.parent / "missing" / "image.tar"
    res = copy(ansible_bin, remote_tmp, args_for(src, deep))
    assert res.get("failed") and not deep.parent.exists()


@pytest.mark.parametrize("mode", ["u=rwx", "0950", "rwxr-x---"])
def test_a_bad_directory_mode_fails_before_anything_is_sent(ansible_bin, files, mode):
    src, dest, remote_tmp = files
    deep = dest.parent / "missing" / "image.tar"
    res = copy(ansible_bin, remote_tmp, args_for(src, deep, directory_mode=mode))
    assert res.get("failed") and f"directory_mode must be an octal mode such as '0750', got '{mode}'" in res["msg"]
    assert not deep.parent.exists()


def test_check_mode_reports_the_transfer_and_sends_nothing(ansible_bin, files):
    src, dest, remote_tmp = files
    res = copy(ansible_bin, remote_tmp, args_for(src, dest), check=True)
    assert res["changed"] and res["copied"] and res["transferred"] == src.stat().st_size
    assert not dest.exists()


def test_wrong_checksum_fails_and_leaves_dest_alone(ansible_bin, files):
    src, dest, remote_tmp = files
    dest.write_bytes(b"previous tarball")
    before = dest.stat()
    wrong = "0" * 64
    res = copy(ansible_bin, remote_tmp, dict(src=str(src), dest=str(dest), sha256=wrong))
    assert res["failed"]
    # the sha256 of the arrived file in the message, beside the expected one
    assert sha256(src) in res["msg"] and wrong in res["msg"] and str(dest) in res["msg"]
    assert dest.read_bytes() == b"previous tarball" and dest.stat().st_ino == before.st_ino
    assert sorted(p.name for p in dest.parent.iterdir()) == ["image.tar"]


def test_different_file_at_dest_is_replaced(ansible_bin, files):
    src, dest, remote_tmp = files
    dest.write_bytes(b"x" * src.stat().st_size)
    res = copy(ansible_bin, remote_tmp, args_for(src, dest))
    assert res["changed"] and res["copied"] and not res["checksum_cached"]
    assert dest.read_bytes() == src.read_bytes()


def test_same_file_with_other_mode_is_fixed_without_transfer(ansible_bin, files):
    src, dest, remote_tmp = files
    dest.write_bytes(src.read_bytes())
    dest.chmod(0o600)
    res = copy(ansible_bin, remote_tmp, args_for(src, dest))
    assert res["changed"] and not res["copied"] and res["transferred"] == 0
    assert stat.S_IMODE(dest.stat().st_mode) == 0o640


def test_rewritten_file_is_hashed_again(ansible_bin, files):
    src, dest, remote_tmp = files
    copy(ansible_bin, remote_tmp, args_for(src, dest))
    data = bytearray(dest.read_bytes())
    data[-1] ^= 0xFF
    dest.write_bytes(bytes(data))  # same size, new mtime: the remembered sha256 no longer holds
    res = copy(ansible_bin, remote_tmp, args_for(src, dest))
    assert res["copied"] and not res["checksum_cached"]
    assert dest.read_bytes() == src.read_bytes()


def test_cache_off_catches_a_rewrite_that_kept_the_mtime(ansible_bin, files):
    src, dest, remote_tmp = files
    copy(ansible_bin, remote_tmp, args_for(src, dest))
    st = dest.stat()
    with dest.open("r+b") as handle:
        first = handle.read(1)
        handle.seek(0)
        handle.write(bytes([first[0] ^ 0xFF]))  # a changed byte (a fixed b"\0" matched 1 random tarball in 256)
    os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns))
    trusting = copy(ansible_bin, remote_tmp, args_for(src, dest), check=True)
    assert trusting["checksum_cached"] and not trusting["copied"]
    res = copy(ansible_bin, remote_tmp, args_for(src, dest, checksum_cache=False))
    assert res["copied"] and not res["checksum_cached"]
    assert dest.read_bytes() == src.read_bytes()


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"sha256": "abc"}, "sha256 must be 64 hexadecimal digits"),
        ({"src": "/nonexistent/image.tar"}, "/nonexistent/image.tar was not found on the controller"),
        ({"_tmp_src": "/nonexistent/x"}, "_tmp_src is set by the action plugin"),
        ({"probe": "sometimes"}, "probe must be a boolean, got 'sometimes'"),
    ],
)
def test_bad_arguments(ansible_bin, files, change, needle):
    src, dest, remote_tmp = files
    res = copy(ansible_bin, remote_tmp, dict(args_for(src, dest), **change))
    assert res["failed"] and needle in res["msg"], res
    assert not dest.exists()


def test_without_probe_the_file_is_sent_and_checked_once(ansible_bin, files):
    src, dest, remote_tmp = files
    res = copy(ansible_bin, remote_tmp, args_for(src, dest, probe=False))
    assert res["changed"] and res["copied"] and res["transferred"] == src.stat().st_size
    assert dest.read_bytes() == src.read_bytes()
    wrong = copy(ansible_bin, remote_tmp, dict(src=str(src), dest=str(dest), sha256="1" * 64, probe=False))
    assert wrong["failed"] and "1" * 64 in wrong["msg"] and dest.read_bytes() == src.read_bytes()


def test_check_mode_asks_even_without_probe(ansible_bin, files):
    src, dest, remote_tmp = files
    copy(ansible_bin, remote_tmp, args_for(src, dest))
    res = copy(ansible_bin, remote_tmp, args_for(src, dest, probe=False), check=True)
    assert not res["changed"] and not res["copied"] and res["transferred"] == 0


BROKEN_LINK = '''
from ansible.errors import AnsibleError
from ansible.plugins.connection.local import Connection as Local


class Connection(Local):
    """The local connection, whose transfers stop half way."""

    def put_file(self, in_path, out_path):
        with open(in_path, "rb") as src, open(out_path, "wb") as dest:
            dest.write(src.read(1024 * 1024))
        raise AnsibleError("the link dropped after 1 MiB")
'''


def test_a_transfer_that_fails_half_way_fails_the_task(ansible_bin, files, tmp_path):
    """A transfer that fails fails the task with the connection's error; nothing is left on the node."""
    src, dest, remote_tmp = files
    plugins = tmp_path / "connection_plugins"
    plugins.mkdir()
    (plugins / "broken_link.py").write_text(BROKEN_LINK)
    env = {"ANSIBLE_REMOTE_TMP": str(remote_tmp), "ANSIBLE_CONNECTION_PLUGINS": str(plugins)}
    _rc, res = run_adhoc(
        ansible_bin, "gpufleet.triton.verified_copy", args_for(src, dest, probe=False), env=env,
        extra={"ansible_connection": "broken_link"}, timeout=60,
    )  # fmt: skip
    assert res["failed"] and "the link dropped after 1 MiB" in res["msg"], res
    assert not dest.exists()
    assert list(remote_tmp.iterdir()) == [], "the remote temporary folder was left behind"
