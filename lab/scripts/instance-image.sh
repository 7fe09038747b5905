#!/usr/bin/env bash
# instance-image.sh NAME DISTRO SUITE: builds the systemd instance image localhost/gpufleet-lab/NAME for Molecule
# with debootstrap + docker import (no registry needed). Reused while its inputs (this script, the init wrapper,
# the suite and mirror) are unchanged. Prints "built" or "reused".
source "$(dirname "$0")/common.sh"
name=$1 distro=$2 suite=$3
image="localhost/gpufleet-lab/$name:latest"
mirror=$("$LAB_DIR/scripts/mirror.sh" "$distro")
# openssh-server and sudo: fleets are reached over SSH as an unprivileged user with sudo, and so is the lab fleet.
include=systemd,systemd-sysv,python3,sudo,openssh-server,iproute2,ca-certificates,dbus,procps,gnupg
extra=()
if [ "$distro" = ubuntu ]; then
  # Ubuntu's suites share one debootstrap script; its keyring comes from Debian's ubuntu-keyring package.
  extra=(--components=main,universe --keyring=/usr/share/keyrings/ubuntu-archive-keyring.gpg)
fi
key=$(key_of "$0" "$LAB_DIR/files/lab-init" -- "$distro" "$suite" "$mirror" "$include")
if [ "$(docker image inspect -f '{{ index .Config.Labels "gpufleet.lab.key" }}' "$image" 2>/dev/null)" = "$key" ]; then
  echo reused; exit 0
fi
log "building $image ($distro $suite) from $mirror"
root=$(mktemp -d /var/tmp/gpufleet-lab-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
script=$suite
[ "$distro" = ubuntu ] && script=gutsy
debootstrap --variant=minbase --include="$include" "${extra[@]}" "$suite" "$root" "$mirror" \
  "/usr/share/debootstrap/scripts/$script" >"$root.log" 2>&1 || { tail -30 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"
install -m 0755 "$LAB_DIR/files/lab-init" "$root/usr/local/sbin/lab-init"
# Units that cannot work, or wait forever, in a container.
for u in systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket systemd-udev-trigger.service \
         getty.target console-getty.service systemd-modules-load.service systemd-firstboot.service \
         sys-kernel-config.mount sys-kernel-debug.mount; do
  ln -sf /dev/null "$root/etc/systemd/system/$u"
done
# /tmp is a fresh tmpfs in every instance: systemd's boot-time cleaning of it (tmp.conf's "D /tmp") only races the
# first Ansible task, whose module would lose its files when the boot is slow.
printf 'd /tmp 1777 root root -\n' >"$root/etc/tmpfiles.d/tmp.conf"
: >"$root/etc/machine-id"
rm -f "$root/usr/sbin/policy-rc.d"
# SSH as a fleet node takes it: no root login, keys only, one unprivileged user (deploy) with passwordless sudo; its
# authorized key is added when the lab fleet creates a node (lab/fleet.yml). Host keys are made per instance at
# its start (lab-init), never shared through the image.
rm -f "$root"/etc/ssh/ssh_host_*
printf '%s\n' 'PermitRootLogin no' 'PasswordAuthentication no' 'KbdInteractiveAuthentication no' \
  >"$root/etc/ssh/sshd_config.d/gpufleet-lab.conf"
chroot "$root" useradd --create-home --shell /bin/bash deploy
install -d -m 0700 "$root/home/deploy/.ssh"
chroot "$root" chown deploy:deploy /home/deploy/.ssh
printf 'deploy ALL=(ALL) NOPASSWD: ALL\n' >"$root/etc/sudoers.d/deploy"
chmod 0440 "$root/etc/sudoers.d/deploy"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
# Instances get their package lists from the same mirror the image came from.
tar -C "$root" -c . | docker import \
  -c 'CMD ["/usr/local/sbin/lab-init"]' \
  -c "LABEL gpufleet.lab.key=$key gpufleet.lab.distro=$distro gpufleet.lab.suite=$suite" \
  - "$image" >/dev/null
echo built
