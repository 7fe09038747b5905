#!/bin/sh
# Builds a STAND-IN for the packages NVIDIA's CUDA repository serves an HGX (NVSwitch) node, and a flat apt repository
# of them in OUTDIR (no NVIDIA repository is reachable from the lab): cuda-drivers-<branch>, nvidia-persistenced,
# nvidia-fabricmanager-<branch> and libnvidia-nscq-<branch>, each at every version given (default 570.133.20-1 and a
# newer 570.148.08-1, so that the test can prove the pin holds the older one). No driver is in them:
# - cuda-drivers-<branch> ships /usr/bin/nvidia-smi, which answers the role's --query-gpu for the GPUs of the fake
#   PCI tree /srv/fake-pci/hgx, with the package's version as the driver's;
# - nvidia-persistenced and nvidia-fabricmanager-<branch> ship their systemd units, whose process only sleeps, so
#   that enabling, starting and checking them is real;
# - libnvidia-nscq-<branch> ships a README.
# Needs only dpkg-deb (no dpkg-dev): the Packages index is written here.
set -eu
out=${1:?usage: build-standin.sh OUTDIR [BRANCH [VERSION...]]}
branch=${2:-570}
[ "$#" -ge 2 ] && shift 2 || shift "$#"
[ "$#" -gt 0 ] || set -- "$branch.133.20-1" "$branch.148.08-1"
arch=$(dpkg --print-architecture)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
rm -f "$out"/*.deb "$out"/Packages

unit() { # root name description
  mkdir -p "$1/lib/systemd/system"
  cat > "$1/lib/systemd/system/$2.service" <<UNIT
[Unit]
Description=STAND-IN for NVIDIA's $3 (gpufleet.triton lab): it only stays active

[Service]
Type=simple
ExecStart=/bin/sleep infinity

[Install]
WantedBy=multi-user.target
UNIT
}

build() { # name version depends
  name=$1 version=$2 depends=$3 root="$work/$1_$2"
  mkdir -p "$root/DEBIAN" "$root/usr/share/doc/$name"
  {
    echo "Package: $name"
    echo "Version: $version"
    echo "Architecture: $arch"
    echo "Maintainer: gpufleet.triton lab <lab@localhost>"
    [ -z "$depends" ] || echo "Depends: $depends"
    echo "Section: non-free/utils"
    echo "Priority: optional"
    echo "Description: STAND-IN for NVIDIA's $name (gpufleet.triton lab; no driver in it)"
  } > "$root/DEBIAN/control"
  echo "STAND-IN for NVIDIA's $name $version, built by molecule/nvidia_driver/files/build-standin.sh." \
    > "$root/usr/share/doc/$name/README"
  case "$name" in
    cuda-drivers-*)
      mkdir -p "$root/usr/bin"
      cat > "$root/usr/bin/nvidia-smi" <<'SH'
#!/bin/sh
# STAND-IN for nvidia-smi: the role's --query-gpu=index,name,uuid,pci.bus_id,driver_version,memory.total
# --format=csv,nounits, answered for the GPUs of the fake PCI tree.
echo "index, name, uuid, pci.bus_id, driver_version, memory.total [MiB]"
i=0
for d in /srv/fake-pci/hgx/*; do
  case "$(cat "$d/vendor"):$(cat "$d/class")" in 0x10de:0x0302*) ;; *) continue ;; esac
  printf '%d, NVIDIA H100 80GB HBM3, GPU-00000000-0000-0000-0000-%012d, 0000%s, %s, 81559\n' \
    "$i" "$i" "${d##*/}" "DRIVER_VERSION"
  i=$((i + 1))
done
SH
      sed -i "s/DRIVER_VERSION/${version%-*}/" "$root/usr/bin/nvidia-smi"
      chmod 0755 "$root/usr/bin/nvidia-smi" ;;
    nvidia-persistenced) unit "$root" nvidia-persistenced "persistence daemon" ;;
    nvidia-fabricmanager-*) unit "$root" nvidia-fabricmanager "fabric manager" ;;
  esac
  dpkg-deb --root-owner-group -Zgzip --build "$root" "$out/${name}_${version}_${arch}.deb" >/dev/null
}

for v in "$@"; do
  build nvidia-persistenced "$v" ""
  # kmod, as the real driver packages pull it in (its /etc/modprobe.d takes the role's nouveau blacklist).
  build "cuda-drivers-$branch" "$v" "nvidia-persistenced (>= ${v%-*}), kmod"
  build "nvidia-fabricmanager-$branch" "$v" ""
  build "libnvidia-nscq-$branch" "$v" ""
done

# The Packages index, as dpkg-scanpackages would write it.
for deb in "$out"/*.deb; do
  dpkg-deb -f "$deb"
  echo "Filename: ./$(basename "$deb")"
  echo "Size: $(stat -c %s "$deb")"
  echo "SHA256: $(sha256sum "$deb" | cut -d' ' -f1)"
  echo
done > "$out/Packages"
