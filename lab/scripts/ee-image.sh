#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# ee-image.sh: builds localhost/gpufleet-lab/ee:latest, the lab's STAND-IN for the execution environment that
# execution-environment.yml defines. That one is RPM-based (ansible-builder supports nothing else) and its base image
# comes from a registry, which the lab cannot reach; so the lab makes an image with the same contract instead:
#   - the system packages of the merged bindep list (ansible-builder introspect), under their Debian names;
#   - exactly the merged Python requirements introspect lists, plus ansible-core and ansible-runner at the EE's pins,
#     resolved on PyPI as the EE's builder stage resolves them (in a venv, /opt/ee, first on PATH);
#   - the collections the EE's galaxy stage installs, under /usr/share/ansible/collections: gpufleet.triton from the
#     built tarball, community.docker, ansible.posix and community.general copied from the `ansible` package at the
#     versions ee/requirements.yml pins (Galaxy is unreachable);
#   - WORKDIR /runner and user 1000 (with a passwd entry, which the EE's entrypoint would add), as in the real EE.
# Differences that remain: Debian 12 and its Python 3.11 instead of CentOS Stream 9 and Python 3.12; no dumb-init.
# The requirements, collections and checks are lab/scripts/ee-check.sh's (run here into the build folder), so the
# image holds what `make ee-check` checked. Reused while its inputs (these scripts, the EE files, the collection's
# files, requirements.txt, the mirror) are unchanged. Needs `make build`. Prints "built" or "reused".
#
# debootstrap anew rather than `docker run` + `docker commit` on the lab's localhost/gpufleet-lab/debian12: that
# image is a fleet node (systemd, sshd, sudo, the deploy user), none of which an EE has or should have, and a build
# in a container would need the container to reach the mirror and PyPI; a chroot uses this host's network as
# instance-image.sh does.
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
root=$(cd "$LAB_DIR/.." && pwd)
BIN=${VENV:-$root/.venv}/bin
image=localhost/gpufleet-lab/ee:latest
suite=bookworm
mirror=$("$LAB_DIR/scripts/mirror.sh" debian)
cd "$root" || exit 1

version=$("$BIN/python" -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')
tarball=build/gpufleet-triton-$version.tar.gz
[ -f "$tarball" ] || { log "$tarball is missing: run make build"; exit 1; }
# The collection's content, not the tarball (whose bytes change with every build): its FILES.json lists each file's
# sha256.
key=$(key_of "$0" "$LAB_DIR/scripts/ee-check.sh" execution-environment.yml ee/requirements.yml requirements.txt \
  <(tar -xzOf "$tarball" FILES.json) -- "$suite" "$mirror")
if [ "$(docker image inspect -f '{{ index .Config.Labels "gpufleet.lab.key" }}' "$image" 2>/dev/null)" = "$key" ]; then
  echo reused; exit 0
fi
log "building $image (stand-in for execution-environment.yml's RPM-based EE) from $mirror"
work=$(mktemp -d /var/tmp/gpufleet-ee-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$LAB_DIR/scripts/ee-check.sh" "$work/check" >"$work/check.log" 2>&1 || { cat "$work/check.log" >&2; exit 1; }
grep '^\[ee-check\] ok: \(ansible-builder introspect\|pip resolves\)' "$work/check.log" | sed 's/^/[lab] /' >&2

# The merged bindep list (RPM names, [platform:rpm]/[platform:redhat]) under Debian's names; an entry without one
# here stops the build, so the stand-in never silently lacks a package the EE has.
declare -A deb_name=([openssh-clients]=openssh-client [findutils]=findutils [zstd]=zstd [rsync]=rsync
  [cryptsetup]=cryptsetup-bin [openssl]=openssl)
# Python libraries that bindep names as system packages: the real EE's Ansible runs on the system Python, the
# stand-in's on /opt/ee's venv, so there they must be importable from the venv (checked after pip, below).
declare -A venv_module=([python3-cryptography]=cryptography)
rpm_names=$("$BIN/python" - "$work/check/bindep.txt" <<'EOF'
import sys
from bindep.depends import Depends
profiles = ["default", "platform:rpm", "platform:dnf", "platform:redhat", "platform:centos"]
for rule in Depends(open(sys.argv[1]).read()).active_rules(profiles):
    print(rule[0])
EOF
) || exit 1
packages=python3,python3-venv,ca-certificates
venv_imports=ansible_runner,google.protobuf,tritonclient,requests,docker
for name in $rpm_names; do
  if [ -n "${venv_module[$name]:-}" ]; then venv_imports+=,${venv_module[$name]}; continue; fi
  [ -n "${deb_name[$name]:-}" ] || { log "no Debian name for bindep package $name: add it to $0"; exit 1; }
  packages+=,${deb_name[$name]}
done

# The debootstrapped system (2-3 minutes) is kept apart, keyed by what goes into it, so that a change of the
# collection (the usual reason for a new image) costs the Python installation only.
rootfs=$work/rootfs
base_key=$(key_of /dev/null -- ee-rootfs-1 "$suite" "$mirror" "$packages")
base=$GPUFLEET_LAB_CACHE/ee-rootfs/$base_key.tar
if [ ! -f "$base" ]; then
  debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -30 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  mkdir -p "$(dirname "$base")"
  find "$(dirname "$base")" -maxdepth 1 -name '*.tar' -delete
  tar -C "$rootfs" -cf "$base.part" . && mv "$base.part" "$base"
else
  mkdir -p "$rootfs" && tar -C "$rootfs" -xf "$base"
fi
# ansible-core and ansible-runner at the EE's pins (ansible-builder installs them in its base stage).
{ read -r ee_core; read -r ee_runner; } < <("$BIN/python" -c '
import yaml
deps = yaml.safe_load(open("execution-environment.yml"))["dependencies"]
print(deps["ansible_core"]["package_pip"], deps["ansible_runner"]["package_pip"], sep="\n")')
install -m 0644 "$work/check/requirements.txt" "$rootfs/tmp/ee-requirements.txt"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
# This host's CA bundle, for the build only: the way to PyPI may pass a TLS proxy that this host trusts.
install -m 0644 "${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}" "$rootfs/tmp/host-ca.crt"
# In the chroot, with this host's network; a clean environment, so that this host's other pip settings stay out.
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 PIP_DISABLE_PIP_VERSION_CHECK=1 \
  PIP_CERT=/tmp/host-ca.crt PIP_DEFAULT_TIMEOUT="${PIP_DEFAULT_TIMEOUT:-180}" chroot "$rootfs" sh -euc "
    python3 -m venv /opt/ee
    /opt/ee/bin/pip install --quiet --no-cache-dir -r /tmp/ee-requirements.txt '$ee_core' '$ee_runner'
    /opt/ee/bin/pip check
    /opt/ee/bin/python -c 'import $venv_imports'
    useradd --uid 1000 --gid 0 --home-dir /runner --no-create-home --shell /bin/bash runner
    install -d -m 0775 -o 1000 -g 0 /runner
    rm -f /tmp/ee-requirements.txt /tmp/host-ca.crt" >"$work/pip.log" 2>&1 || { tail -30 "$work/pip.log" >&2; exit 1; }
mkdir -p "$rootfs/usr/share/ansible/collections"
cp -a "$work/check/collections/ansible_collections" "$rootfs/usr/share/ansible/collections/"
# What the image was made from, for whoever inspects it.
install -d "$rootfs/usr/share/gpufleet-ee"
install -m 0644 "$work/check/requirements.txt" "$work/check/bindep.txt" "$rootfs/usr/share/gpufleet-ee/"
chroot "$rootfs" /opt/ee/bin/pip freeze --all >"$rootfs/usr/share/gpufleet-ee/pip-freeze.txt"
rm -f "$rootfs/etc/resolv.conf"
old=$(docker image inspect -f '{{ .Id }}' "$image" 2>/dev/null || true)
tar -C "$rootfs" -c . | docker import \
  -c 'ENV PATH=/opt/ee/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENV HOME=/runner' -c 'WORKDIR /runner' -c 'USER 1000' -c 'CMD ["bash"]' \
  -c "LABEL gpufleet.lab.key=$key ansible-execution-environment=true" \
  -c "LABEL gpufleet.lab.stand-in-for=\"the RPM-based EE of execution-environment.yml (ansible-builder)\"" \
  - "$image" >/dev/null
# The image this one replaces, unless a container still uses it.
[ -z "$old" ] || docker image rm "$old" >/dev/null 2>&1 || true
echo built
