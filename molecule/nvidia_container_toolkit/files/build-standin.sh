#!/bin/sh
# Builds a STAND-IN for NVIDIA's container toolkit packages (no NVIDIA repository is reachable from the lab) and a
# flat apt repository of them in OUTDIR: nvidia-container-toolkit, nvidia-container-toolkit-base,
# libnvidia-container-tools and libnvidia-container1 at the versions given (default 1.19.1-1, the role's pin, and a
# newer 1.20.0-1, so that the test can prove the pin holds the older one). nvidia-container-runtime execs runc;
# nvidia-ctk answers the subcommands the role calls, and its `cdi generate` prints a HAND-WRITTEN CDI specification:
# GPU 0 (and all) is /dev/null, seen in the container as /dev/nvidia0. Needs only dpkg-deb (no dpkg-dev): the
# Packages index is written here.
set -eu
out=${1:?usage: build-standin.sh OUTDIR [VERSION...]}
shift
[ "$#" -gt 0 ] || set -- 1.19.1-1 1.20.0-1
arch=$(dpkg --print-architecture)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
rm -f "$out"/*.deb "$out"/Packages

build() { # name version depends
  name=$1 version=$2 depends=$3 root="$work/$1_$2"
  mkdir -p "$root/DEBIAN"
  {
    echo "Package: $name"
    echo "Version: $version"
    echo "Architecture: $arch"
    echo "Maintainer: gpufleet.triton lab <lab@localhost>"
    [ -z "$depends" ] || echo "Depends: $depends"
    echo "Section: utils"
    echo "Priority: optional"
    echo "Description: STAND-IN for NVIDIA's $name (gpufleet.triton lab; no GPU support)"
  } > "$root/DEBIAN/control"
  case "$name" in
    nvidia-container-toolkit-base)
      mkdir -p "$root/usr/bin"
      cat > "$root/usr/bin/nvidia-container-runtime" <<'SH'
#!/bin/sh
# STAND-IN: hands everything to runc, so the engine accepts and lists the runtime.
exec runc "$@"
SH
      cat > "$root/usr/bin/nvidia-ctk" <<SH
#!/bin/sh
# STAND-IN for nvidia-ctk $version: the subcommands gpufleet.triton.nvidia_container_toolkit calls.
SH
      cat >> "$root/usr/bin/nvidia-ctk" <<'SH'
case "$*" in
  --version) echo "NVIDIA Container Toolkit CLI version VERSION_PLACEHOLDER (gpufleet.triton stand-in)" ;;
  "cdi generate"*)
    # What nvidia-ctk writes for a one-GPU host, by hand: the GPU by index and all, each a device node that is the
    # host's /dev/null (hostPath, CDI 0.5.0) at the GPU's path in the container.
    spec='---
cdiVersion: 0.5.0
kind: nvidia.com/gpu
devices:
  - name: "0"
    containerEdits:
      deviceNodes:
        - path: /dev/nvidia0
          hostPath: /dev/null
  - name: all
    containerEdits:
      deviceNodes:
        - path: /dev/nvidia0
          hostPath: /dev/null
containerEdits:
  env:
    - GPUFLEET_CDI_STANDIN=1'
    out=""
    for arg in "$@"; do case "$arg" in --output=*) out=${arg#--output=} ;; esac; done
    if [ -n "$out" ]; then mkdir -p "$(dirname "$out")"; printf '%s\n' "$spec" > "$out"; else printf '%s\n' "$spec"; fi ;;
  "system create-dev-char-symlinks"*)
    mkdir -p /dev/char
    if [ ! -e /dev/char/gpufleet-standin ]; then
      echo "Creating link /dev/char/gpufleet-standin => /dev/null" >&2
      ln -s /dev/null /dev/char/gpufleet-standin
    fi ;;
  *) echo "nvidia-ctk stand-in: unsupported: $*" >&2; exit 2 ;;
esac
SH
      sed -i "s/VERSION_PLACEHOLDER/${version%-*}/" "$root/usr/bin/nvidia-ctk"
      chmod 0755 "$root/usr/bin/nvidia-container-runtime" "$root/usr/bin/nvidia-ctk" ;;
    libnvidia-container-tools)
      mkdir -p "$root/usr/bin"
      printf '#!/bin/sh\necho "nvidia-container-cli stand-in %s"\n' "$version" > "$root/usr/bin/nvidia-container-cli"
      chmod 0755 "$root/usr/bin/nvidia-container-cli" ;;
  esac
  dpkg-deb --root-owner-group -Zgzip --build "$root" "$out/${name}_${version}_${arch}.deb" >/dev/null
}

for v in "$@"; do
  build libnvidia-container1 "$v" ""
  build libnvidia-container-tools "$v" "libnvidia-container1 (>= $v)"
  build nvidia-container-toolkit-base "$v" ""
  build nvidia-container-toolkit "$v" "nvidia-container-toolkit-base (= $v), libnvidia-container-tools (>= $v)"
done

# The Packages index, as dpkg-scanpackages would write it.
for deb in "$out"/*.deb; do
  dpkg-deb -f "$deb"
  echo "Filename: ./$(basename "$deb")"
  echo "Size: $(stat -c %s "$deb")"
  echo "SHA256: $(sha256sum "$deb" | cut -d' ' -f1)"
  echo
done > "$out/Packages"
