#!/usr/bin/env bash
# triton-image.sh: builds the lab's CPU Triton image, with the CLI and layout of nvcr.io/nvidia/tritonserver:<tag>-py3
# (tritonserver on PATH, /opt/tritonserver, user triton-server uid 1000, the NGC entry point), tagged
# $LAB_TRITON_REPOSITORY:$LAB_TRITON_TAG, then `docker save`s it to the cached tarball air-gapped sites carry in,
# with its .sha256 file. Reused while the inputs are unchanged. Prints the tarball's path.
source "$(dirname "$0")/common.sh"
image="$LAB_TRITON_REPOSITORY:$LAB_TRITON_TAG"
tree=$("$LAB_DIR/scripts/triton-tree.sh" 3.11)
mirror=$("$LAB_DIR/scripts/mirror.sh" debian)
key=$(key_of "$0" "$LAB_DIR/files/nvidia_entrypoint.sh" -- "$tree" "$mirror" "$image")
dir="$GPUFLEET_LAB_CACHE/images"
tarball="$dir/tritonserver-$LAB_TRITON_TAG.tar"
mkdir -p "$dir"

if [ "$(docker image inspect -f '{{ index .Config.Labels "gpufleet.lab.key" }}' "$image" 2>/dev/null)" != "$key" ]; then
  log "building $image"
  root=$(mktemp -d /var/tmp/gpufleet-lab-triton.XXXXXX)
  trap 'rm -rf "$root" "$root.log"' EXIT
  # numpy must stay < 2 for the python backend stub of this release: bookworm's python3-numpy is 1.24.
  debootstrap --variant=minbase --include=python3,python3-numpy,libpython3.11,ca-certificates,curl \
    bookworm "$root" "$mirror" >"$root.log" 2>&1 || { tail -30 "$root.log" >&2; exit 1; }
  cp -a "$tree/opt" "$root/"
  install -D -m 0755 "$LAB_DIR/files/nvidia_entrypoint.sh" "$root/opt/nvidia/nvidia_entrypoint.sh"
  chroot "$root" /usr/sbin/useradd --uid 1000 --user-group --create-home --shell /bin/bash triton-server
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
  tar -C "$root" -c . | docker import \
    -c 'ENV PATH=/opt/tritonserver/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LD_LIBRARY_PATH=/opt/tritonserver/lib' \
    -c 'ENV NVIDIA_TRITON_SERVER_VERSION=24.10 TRITON_SERVER_VERSION=2.51.0' \
    -c 'WORKDIR /opt/tritonserver' \
    -c 'ENTRYPOINT ["/opt/nvidia/nvidia_entrypoint.sh"]' \
    -c "LABEL gpufleet.lab.key=$key com.nvidia.tritonserver.version=2.51.0 com.nvidia.build.ref=gpufleet-lab-cpu" \
    - "$image" >/dev/null
  rm -f "$tarball.key"
fi

if [ "$(cat "$tarball.key" 2>/dev/null)" != "$key" ] || [ ! -f "$tarball" ] || [ ! -f "$tarball.sha256" ]; then
  log "saving $image to $tarball"
  docker save -o "$tarball.part" "$image"
  mv "$tarball.part" "$tarball"
  (cd "$dir" && sha256sum "$(basename "$tarball")" > "$(basename "$tarball").sha256")
  echo "$key" > "$tarball.key"
fi
echo "$tarball"
