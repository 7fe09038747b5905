"""image_cache, air-gapped: the lab tarball is loaded by ID; bad inputs fail clearly and change nothing; retention."""

import datetime
import hashlib
import io
import ipaddress
import json
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

testinfra_hosts = ["ansible://all"]

SCENARIO = Path(__file__).resolve().parents[1]
REPO = SCENARIO.parents[1]
LAB = Path(os.environ.get("GPUFLEET_LAB_CACHE", "/var/cache/gpufleet-lab"))
TARBALL = LAB / "images" / "tritonserver-24.10-py3-lab-cpu.tar"
IMAGE = "nvcr.io/nvidia/tritonserver:24.10-py3-lab-cpu"
CACHE = "/var/cache/gpufleet/images"
CHECK = REPO / "roles" / "image_cache" / "files" / "image_archive_check.py"
FIRST = "airgap-debian12"


@pytest.fixture(scope="module")
def expected_id():
    out = subprocess.run(["python3", str(CHECK), str(TARBALL), "--image", IMAGE], capture_output=True, check=True)
    return json.loads(out.stdout)["image_id"]


def negative_cmd(extra, *args, limit=FIRST):
    """ansible-playbook negative.yml against one instance, with extra as -e."""
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", limit, *args]
    return [*cmd, str(SCENARIO / "negative.yml"), "-e", json.dumps(extra)]


def playbook(extra, limit=FIRST):
    """Run negative.yml against one instance; return (rc, output)."""
    res = subprocess.run(negative_cmd(extra, limit=limit), capture_output=True, text=True, check=False)
    return res.returncode, res.stdout + res.stderr


def start_playbook(extra, limit=FIRST):
    return subprocess.Popen(
        negative_cmd(extra, limit=limit), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def node_state(host):
    # Names, sizes, times and modes; not ls's block total, which moves while a fresh copy is still written back.
    return host.check_output(
        f"find {CACHE} -printf '%p %s %T@ %m %u\\n' | sort; sha256sum {CACHE}/state.json;"
        " docker images -a -q --no-trunc | sort"
    )


def test_image_loaded_by_id(host, expected_id):
    assert host.check_output(f"docker image inspect --format '{{{{.Id}}}}' {IMAGE}") == expected_id


def test_cache_files_and_modes(host, expected_id):
    d = host.file(CACHE)
    assert d.is_directory and d.mode == 0o750 and d.user == "root"
    t = host.file(f"{CACHE}/{TARBALL.name}")
    assert t.mode == 0o640
    assert t.sha256sum == (LAB / "images" / (TARBALL.name + ".sha256")).read_text().split()[0]
    state = json.loads(host.file(f"{CACHE}/state.json").content_string)
    assert state["nvcr.io/nvidia/tritonserver"][-1]["id"] == expected_id
    assert host.file(f"{CACHE}/state.json").mode == 0o640


@pytest.fixture(scope="module")
def truncated(tmp_path_factory):
    path = tmp_path_factory.mktemp("bad") / "truncated.tar"
    h = hashlib.sha256()
    with TARBALL.open("rb") as src, path.open("wb") as dst:
        left = 120 * 1024 * 1024
        while left:
            chunk = src.read(min(left, 1 << 20))
            h.update(chunk)
            dst.write(chunk)
            left -= len(chunk)
    return path, h.hexdigest()


def lab_sha():
    return (LAB / "images" / (TARBALL.name + ".sha256")).read_text().split()[0]


BAD = {
    "truncated": (None, "is corrupted or truncated"),
    "checksum": ({"image_cache_tarball_sha256": "0" * 64}, "checksum mismatch"),
    "wrong_image": ({"image_cache_image": "nvcr.io/nvidia/tritonserver:99.99-py3"}, "does not contain"),
    "missing": ({"image_cache_tarball": "/nonexistent/triton.tar"}, "does not exist on the controller"),
    "disk": ({"image_cache_min_free_mib": 1 << 40}, "Not enough disk space"),
    "url_no_file": ({"image_cache_tarball": "http://127.0.0.1:9/images/"}, "image_cache_tarball must name a file"),
    "url_user": (
        {"image_cache_tarball": "http://127.0.0.1:9/t.tar", "image_cache_tarball_url_password": "p"},
        "image_cache_tarball_url_password needs image_cache_tarball_url_username (basic authentication)",
    ),
    "url_headers": (
        {"image_cache_tarball": "http://127.0.0.1:9/t.tar", "image_cache_tarball_url_headers": {"X-Token": 5}},
        "image_cache_tarball_url_headers must map header names to strings",
    ),
    "url_ca_path": (
        {"image_cache_tarball": "https://127.0.0.1:9/t.tar", "image_cache_tarball_url_ca_path": "certs/ca.pem"},
        "image_cache_tarball_url_ca_path must be empty or the absolute path of a CA bundle (PEM) on the node",
    ),
}
# Messages about the URL's settings name the variable, not the file.
NAMES_THE_SETTING = ("disk", "url_user", "url_headers", "url_ca_path")


def test_bad_inputs_fail_and_change_nothing(host, truncated):
    """Each bad input runs as its own playbook (in parallel, to keep the scenario short)."""
    if host.backend.host != FIRST:
        pytest.skip("negative cases run against one instance")
    base = {
        "image_cache_source": "tarball",
        "image_cache_image": IMAGE,
        "image_cache_tarball": str(TARBALL),
        "image_cache_tarball_sha256": lab_sha(),
    }
    runs = {}
    before = node_state(host)
    for case, (extra, _) in sorted(BAD.items()):
        args = dict(base)
        if extra is None:
            args.update(image_cache_tarball=str(truncated[0]), image_cache_tarball_sha256=truncated[1])
        else:
            args.update(extra)
        runs[case] = (args, start_playbook(args))
    for case, (args, proc) in runs.items():
        out = proc.communicate()[0]
        assert proc.returncode != 0, f"{case}: {out}"
        assert BAD[case][1] in out, f"{case}: {out}"
        if case not in NAMES_THE_SETTING:
            assert args["image_cache_tarball"] in out, f"{case}: {out}"
    assert node_state(host) == before


def tiny_image(tmp, tag):
    """A one-layer image built by hand in `docker save` format (no registry, no build)."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as t:
        data = tag.encode()
        info = tarfile.TarInfo("version")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/version"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created_by": tag}],
        }
    ).encode()
    cid = hashlib.sha256(config).hexdigest()
    manifest = json.dumps([{"Config": cid + ".json", "RepoTags": [tag], "Layers": ["layer/layer.tar"]}]).encode()
    path = tmp / (tag.replace("/", "_").replace(":", "_") + ".tar")
    with tarfile.open(path, "w") as t:
        for name, blob in ((cid + ".json", config), ("layer/layer.tar", layer_bytes), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            t.addfile(info, io.BytesIO(blob))
    return path, hashlib.sha256(path.read_bytes()).hexdigest(), "sha256:" + cid


def test_retention_keeps_previous_and_images_in_use(host, tmp_path):
    if host.backend.host != FIRST:
        pytest.skip("retention runs against one instance")
    images = [tiny_image(tmp_path, f"gpufleet-test/tiny:v{i}") for i in range(1, 5)]
    for i, (path, sha, _) in enumerate(images, start=1):
        rc, out = playbook(
            {
                "image_cache_image": f"gpufleet-test/tiny:v{i}",
                "image_cache_tarball": str(path),
                "image_cache_tarball_sha256": sha,
                "image_cache_retention": 2,
            }
        )
        assert rc == 0, out
        if i == 1:
            host.check_output("docker create --name tiny-in-use gpufleet-test/tiny:v1")
    present = set(host.check_output("docker images -q --no-trunc gpufleet-test/tiny").split())
    ids = [i[2] for i in images]
    # v1 is used by a container (kept beyond retention), v2 pruned, v3 (previous) and v4 (current) kept.
    assert present == {ids[0], ids[2], ids[3]}
    assert not host.file(f"{CACHE}/{images[1][0].name}").exists
    assert host.file(f"{CACHE}/{images[3][0].name}").exists
    assert host.file(f"{CACHE}/{images[2][0].name}").exists
    host.check_output("docker rm tiny-in-use")


def playbook_report(extra, *args):
    """Run negative.yml against FIRST with the json callback: (rc, {task name: FIRST's result}, FIRST's stats)."""
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    res = subprocess.run(negative_cmd(extra, *args), capture_output=True, text=True, check=False, env=env)
    report = json.loads(res.stdout[res.stdout.index("{") :])
    tasks = {t["task"]["name"]: t["hosts"].get(FIRST, {}) for p in report["plays"] for t in p["tasks"]}
    return res.returncode, tasks, report["stats"].get(FIRST, {})


def result_of(tasks, name):
    """The result of the one task whose name (after the role's prefix) starts with name."""
    (result,) = [r for n, r in tasks.items() if n.split(" : ", 1)[-1].startswith(name)]
    return result


def check_result(tasks, on_node):
    name = "Check the tarball's sha256" + (" on the node" if on_node else "") + ", read the image ID from its manifest"
    return json.loads(result_of(tasks, name)["stdout"])


def test_controller_remembers_a_checked_tarball(host, tmp_path):
    """The second run answers the tarball's check from the record on the controller's file (extended attributes, the
    sha256 record verified_copy and the converge stamp share) instead of reading the file again."""
    if host.backend.host != FIRST:
        pytest.skip("runs against one instance")
    tarball = tmp_path / TARBALL.name  # a copy of its own: the lab's tarball may carry a record of earlier runs
    shutil.copy(TARBALL, tarball)
    args = {
        "image_cache_image": IMAGE,
        "image_cache_tarball": str(tarball),
        "image_cache_tarball_sha256": lab_sha(),
    }
    seen = []
    for _ in range(2):
        rc, tasks, stats = playbook_report(args)
        assert rc == 0 and stats["changed"] == 0, tasks
        seen.append(check_result(tasks, on_node=False))
    assert [s["cached"] for s in seen] == [False, True]
    assert seen[0] == dict(seen[1], cached=False)
    assert os.getxattr(tarball, "user.gpufleet.sha256").decode().split()[0] == lab_sha()
    rc, tasks, _ = playbook_report(dict(args, image_cache_remember_checks=False))
    assert rc == 0 and check_result(tasks, on_node=False)["cached"] is False


def test_tarball_on_a_shared_path_is_read_once_and_remembered(host, tmp_path):
    """image_cache_tarball_remote_src: one read of the node's file for sha256 and completeness, then none."""
    if host.backend.host != FIRST:
        pytest.skip("runs against one instance")
    path, sha, image_id = tiny_image(tmp_path, "gpufleet-test/shared:v1")
    shared = f"/srv/shared/{path.name}"
    host.check_output("mkdir -p /srv/shared")
    subprocess.run(["docker", "cp", str(path), f"{FIRST}:{shared}"], check=True)
    records = (
        "python3 -c \"import os, sys; print(' '.join(sorted(n for n in os.listxattr(sys.argv[1]) "
        f"if n.startswith('user.gpufleet.'))))\" {shared}"
    )
    args = {
        "image_cache_image": "gpufleet-test/shared:v1",
        "image_cache_tarball": shared,
        "image_cache_tarball_sha256": sha,
        "image_cache_tarball_remote_src": True,
    }

    # Check mode first: the check runs and passes, and no record is written on the node.
    rc, tasks, _ = playbook_report(args, "--check")
    assert rc == 0 and check_result(tasks, on_node=True)["cached"] is False, tasks
    assert host.check_output(records) == ""

    rc, tasks, stats = playbook_report(args)
    assert rc == 0 and stats["changed"] > 0, tasks
    assert check_result(tasks, on_node=True)["cached"] is False
    assert host.check_output("docker image inspect --format '{{.Id}}' gpufleet-test/shared:v1") == image_id
    # The record is on the file: its sha256 (the one verified_copy and the converge stamp keep) and its images.
    assert host.check_output(records) == "user.gpufleet.image-archive user.gpufleet.sha256"
    assert not host.file(f"{CACHE}/{path.name}").exists, "a shared-path tarball is loaded in place, never copied"

    rc, tasks, stats = playbook_report(args)
    assert rc == 0 and stats["changed"] == 0, tasks
    out = check_result(tasks, on_node=True)
    assert out["cached"] is True and out["image_id"] == image_id and out["sha256"] == sha

    # Bad input on the node names the file, the host and what was expected; nothing changes.
    before = node_state(host)
    rc, tasks, _ = playbook_report(dict(args, image_cache_tarball_sha256="0" * 64))
    msg = result_of(tasks, "Fail when the tarball on the node is not a complete archive")["msg"]
    assert rc != 0 and msg == (
        f"checksum mismatch: {shared} has sha256 {sha}, expected {'0' * 64} (on {FIRST}); nothing was changed."
    )
    rc, tasks, _ = playbook_report(dict(args, image_cache_tarball="/srv/shared/missing.tar"))
    msg = result_of(tasks, "Fail when the tarball on the node is not a complete archive")["msg"]
    assert rc != 0 and msg == f"image archive /srv/shared/missing.tar does not exist (on {FIRST}); nothing was changed."

    # One byte changed in place (same size, a new modification time): the record no longer holds, the file is read
    # again and the damage is found. (A change that puts the old modification time back is trusted, as rsync's quick
    # check trusts it: the record is on the file, and writing it changes the file's change time.)
    host.check_output(f"printf '\\377' | dd of={shared} bs=1 seek=2000 conv=notrunc status=none")
    rc, tasks, _ = playbook_report(args)
    msg = result_of(tasks, "Fail when the tarball on the node is not a complete archive")["msg"]
    assert rc != 0 and msg.startswith(f"checksum mismatch: {shared} has sha256 "), msg
    assert node_state(host) == before
    host.check_output("rm -rf /srv/shared")


def serve_on_node(host, port, *args):
    """Start `python3 *args` on FIRST in the background and wait until it listens on 127.0.0.1:port. The web servers
    run on the node itself: the scenario's instances reach no other host."""
    subprocess.run(["docker", "exec", "-d", FIRST, "python3", *args], check=True)
    probe = f"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}))\""
    for _ in range(50):
        if host.run(probe).rc == 0:
            return
        time.sleep(0.2)


def test_tarball_from_a_url_is_downloaded_once_and_remembered(host, tmp_path):
    """An http(s) tarball: downloaded and checked on the first run; later runs neither download nor read it."""
    if host.backend.host != FIRST:
        pytest.skip("runs against one instance")
    path, sha, image_id = tiny_image(tmp_path, "gpufleet-test/url:v1")
    host.check_output("mkdir -p /srv/www")
    subprocess.run(["docker", "cp", str(path), f"{FIRST}:/srv/www/{path.name}"], check=True)
    serve_on_node(host, 8089, "-m", "http.server", "8089", "--bind", "127.0.0.1", "--directory", "/srv/www")
    args = {
        "image_cache_image": "gpufleet-test/url:v1",
        "image_cache_tarball": f"http://127.0.0.1:8089/{path.name}",
        "image_cache_tarball_sha256": sha,
    }
    dest = f"{CACHE}/{path.name}"
    try:
        # Before a download the URL is asked for the size (HEAD) and the disk is checked for it; nothing arrives.
        subprocess.run(["docker", "cp", str(TARBALL), f"{FIRST}:/srv/www/big-url.tar"], check=True)
        big = {
            "image_cache_image": IMAGE,
            "image_cache_tarball": "http://127.0.0.1:8089/big-url.tar",
            "image_cache_tarball_sha256": lab_sha(),
            "image_cache_min_free_mib": 1 << 40,
        }
        before = node_state(host)
        rc, tasks, _ = playbook_report(big)
        msg = result_of(tasks, "Fail when the node lacks the disk space")["msg"]
        assert rc != 0 and f"needed: {round(TARBALL.stat().st_size / 2**20)} MiB for the tarball" in msg, msg
        assert node_state(host) == before, "nothing was downloaded"

        rc, tasks, _ = playbook_report(args, "--check")
        assert rc == 0 and not host.file(dest).exists, tasks

        rc, tasks, stats = playbook_report(args)
        assert rc == 0 and stats["changed"] > 0, tasks
        assert result_of(tasks, "Download the tarball")["changed"] is True
        assert host.check_output("docker image inspect --format '{{.Id}}' gpufleet-test/url:v1") == image_id
        assert host.file(dest).mode == 0o640 and host.file(dest).sha256sum == sha

        rc, tasks, stats = playbook_report(args)
        assert rc == 0 and stats["changed"] == 0, tasks
        out = json.loads(result_of(tasks, "Check the tarball a download left on the node")["stdout"])
        assert out["cached"] is True and out["image_id"] == image_id
        assert result_of(tasks, "Download the tarball").get("skipped") is True
    finally:
        host.run("pkill -f 'http.server 8089'")
    # With the server gone the node has all it needs: a re-run downloads nothing and passes.
    rc, tasks, stats = playbook_report(args)
    assert rc == 0 and stats["changed"] == 0, tasks
    host.check_output("rm -rf /srv/www")


def test_a_second_run_in_the_same_play_does_not_see_the_first_runs_image(host):
    """A registry image placed after the tarball's in one play is checked for its own pull's disk space: the tarball's
    image, present on the node, must not pass for it."""
    if host.backend.host != FIRST:
        pytest.skip("runs against one instance")
    before = node_state(host)
    extra = {"second_image": "registry.invalid/gpufleet/other:1", "second_pull_min_free_mib": 1 << 40}
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", FIRST]
    res = subprocess.run(
        [*cmd, str(SCENARIO / "two_images.yml"), "-e", json.dumps(extra)], capture_output=True, text=True, check=False
    )
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert f"Not enough disk space on {FIRST} for registry.invalid/gpufleet/other:1" in out, out
    assert node_state(host) == before


# Serves /srv/www-auth to requests that carry the user's password (basic auth) or the token header; 401 otherwise.
AUTH_SERVER = """
import base64, functools, http.server, sys
user, password, token = sys.argv[1:4]
basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
class Handler(http.server.SimpleHTTPRequestHandler):
    def allowed(self):
        if self.headers.get("Authorization") == basic or self.headers.get("X-Token") == token:
            return True
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="images"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False
    def do_GET(self):
        if self.allowed():
            super().do_GET()
    def do_HEAD(self):
        if self.allowed():
            super().do_HEAD()
handler = functools.partial(Handler, directory="/srv/www-auth")
http.server.ThreadingHTTPServer(("127.0.0.1", 8090), handler).serve_forever()
"""


def test_tarball_from_a_url_behind_authentication(host, tmp_path):
    """Basic auth or a header token: a wrong password fails clearly and changes nothing; the secrets never show, even
    at -vvv; a presigned-style query is not part of the file's name on the node."""
    if host.backend.host != FIRST:
        pytest.skip("runs against one instance")
    path, sha, image_id = tiny_image(tmp_path, "gpufleet-test/url-auth:v1")
    password, token = f"pw-{os.getpid()}-{time.time_ns()}", f"tok-{time.time_ns()}-{os.getpid()}"
    host.check_output("mkdir -p /srv/www-auth")
    subprocess.run(["docker", "cp", str(path), f"{FIRST}:/srv/www-auth/{path.name}"], check=True)
    (tmp_path / "serve.py").write_text(AUTH_SERVER)
    subprocess.run(["docker", "cp", str(tmp_path / "serve.py"), f"{FIRST}:/srv/serve-auth.py"], check=True)
    serve_on_node(host, 8090, "/srv/serve-auth.py", "fleet", password, token)
    url = f"http://127.0.0.1:8090/{path.name}?X-Amz-Signature=0123abcd&X-Amz-Expires=600"
    dest = f"{CACHE}/{path.name}"
    args = {
        "image_cache_image": "gpufleet-test/url-auth:v1",
        "image_cache_tarball": url,
        "image_cache_tarball_sha256": sha,
        "image_cache_tarball_url_username": "fleet",
    }

    def run_vvv(extra):
        res = subprocess.run(negative_cmd(extra, "-vvv"), capture_output=True, text=True, check=False)
        out = res.stdout + res.stderr
        assert password not in out and token not in out, "a secret reached the output"
        return res.returncode, out

    host.run(f"rm -f {dest}; docker image rm gpufleet-test/url-auth:v1")
    try:
        before = node_state(host)
        rc, tasks, _ = playbook_report(dict(args, image_cache_tarball_url_password=f"not-{password}"))
        msg = result_of(tasks, "Fail when the download failed")["msg"]
        assert rc != 0 and msg.startswith(f"Downloading {url} to {dest} on {FIRST} failed: "), msg
        assert "(HTTP 401)" in msg and "check image_cache_tarball_url_username, image_cache_tarball_url_password" in msg
        assert msg.endswith("Nothing was loaded."), msg
        assert node_state(host) == before

        rc, out = run_vvv(dict(args, image_cache_tarball_url_password=password))
        assert rc == 0, out[-3000:]
        assert host.check_output("docker image inspect --format '{{.Id}}' gpufleet-test/url-auth:v1") == image_id
        assert host.file(dest).sha256sum == sha and host.file(dest).mode == 0o640
        assert not host.run(f"grep -rlF -e {password} /var/cache/gpufleet /var/lib/gpufleet /root/.ansible").stdout

        # A header instead of the password: the node lost its download, so it is fetched again, with the token.
        host.check_output(f"rm {dest}")
        headers = {"image_cache_tarball_url_username": "", "image_cache_tarball_url_headers": {"X-Token": token}}
        rc, out = run_vvv(dict(args, **headers))
        assert rc == 0, out[-3000:]
        assert host.file(dest).sha256sum == sha
    finally:
        host.run("pkill -f serve-auth.py")
    host.check_output("rm -rf /srv/www-auth /srv/serve-auth.py")


def private_ca(folder):
    """A CA and a certificate it signed for 127.0.0.1, written to folder as ca.pem, server.pem and server.key."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gpufleet test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "server.pem").write_bytes(server.public_bytes(pem))
    (folder / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


# Serves /srv/www-tls over https with the certificate private_ca() made.
TLS_SERVER = """
import functools, http.server, ssl
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain("/srv/tls/server.pem", "/srv/tls/server.key")
server = http.server.ThreadingHTTPServer(
    ("127.0.0.1", 8091), functools.partial(http.server.SimpleHTTPRequestHandler, directory="/srv/www-tls"))
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"""


def test_tarball_from_an_https_server_signed_by_a_private_ca(host, tmp_path):
    """A server whose CA the node's trust store lacks: refused with a message naming image_cache_tarball_url_ca_path;
    a ca_path that is not on the node fails before anything changes; the right one lets the HEAD and the download
    through, with the certificate still checked."""
    if host.backend.host != FIRST:
        pytest.skip("runs against one instance")
    path, sha, image_id = tiny_image(tmp_path, "gpufleet-test/url-tls:v1")
    private_ca(tmp_path)
    (tmp_path / "serve.py").write_text(TLS_SERVER)
    host.check_output("mkdir -p /srv/www-tls /srv/tls")
    for src, dest in ((path, f"/srv/www-tls/{path.name}"), (tmp_path / "serve.py", "/srv/tls/serve-tls.py")):
        subprocess.run(["docker", "cp", str(src), f"{FIRST}:{dest}"], check=True)
    for name in ("ca.pem", "server.pem", "server.key"):
        subprocess.run(["docker", "cp", str(tmp_path / name), f"{FIRST}:/srv/tls/{name}"], check=True)
    serve_on_node(host, 8091, "/srv/tls/serve-tls.py")
    url = f"https://127.0.0.1:8091/{path.name}"
    dest = f"{CACHE}/{path.name}"
    args = {
        "image_cache_image": "gpufleet-test/url-tls:v1",
        "image_cache_tarball": url,
        "image_cache_tarball_sha256": sha,
    }
    host.run(f"rm -f {dest}; docker image rm gpufleet-test/url-tls:v1")
    try:
        before = node_state(host)
        rc, tasks, _ = playbook_report(args)
        msg = result_of(tasks, "Fail when the download failed")["msg"]
        assert rc != 0 and "CERTIFICATE_VERIFY_FAILED" in msg, msg
        assert "set image_cache_tarball_url_ca_path to the CA bundle (PEM) on the node that signed it" in msg, msg
        assert node_state(host) == before

        rc, tasks, _ = playbook_report(dict(args, image_cache_tarball_url_ca_path="/srv/tls/missing.pem"))
        msg = result_of(tasks, "Fail when the CA bundle is missing")["msg"]
        assert rc != 0, tasks
        assert msg.startswith(f"image_cache_tarball_url_ca_path: /srv/tls/missing.pem is not a file on {FIRST};"), msg
        assert "127.0.0.1:8091" in msg and node_state(host) == before

        rc, tasks, stats = playbook_report(dict(args, image_cache_tarball_url_ca_path="/srv/tls/ca.pem"))
        assert rc == 0 and stats["changed"] > 0, tasks
        head = result_of(tasks, "Ask the URL for the tarball's size")
        assert head["status"] == 200 and int(head["content_length"]) == path.stat().st_size, head
        assert result_of(tasks, "Download the tarball")["changed"] is True
        assert host.check_output("docker image inspect --format '{{.Id}}' gpufleet-test/url-tls:v1") == image_id
        assert host.file(dest).sha256sum == sha
    finally:
        host.run("pkill -f serve-tls.py")
    host.check_output("rm -rf /srv/www-tls /srv/tls")
