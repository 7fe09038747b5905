#!/usr/bin/env bash
# registry.sh: runs the lab's stand-in for nvcr.io and pushes the lab Triton image into it.
# - Debian's docker-registry binary (this host's) inside a container of the lab's Debian 12 image, on the lab
#   network `gpufleet-lab` as $LAB_REGISTRY_HOST:5000, published on 127.0.0.1:$LAB_REGISTRY_PORT for the host;
# - TLS from a CA generated here (ca.crt is what nodes trust under /etc/docker/certs.d/<host:port>/);
# - htpasswd auth, user `$oauthtoken` (as NGC) and a generated API key (api-key, 0600).
# Prints the registry's state folder (ca.crt, api-key, registry.env).
source "$(dirname "$0")/common.sh"
host=${LAB_REGISTRY_HOST:-registry.gpufleet-lab.test}
port=${LAB_REGISTRY_PORT:-5000}
net=${LAB_NETWORK:-gpufleet-lab}
name=gpufleet-lab-registry
state="$GPUFLEET_LAB_CACHE/registry"
mkdir -p "$state/etc" "$state/data"
chmod 0700 "$state"

if [ ! -s "$state/api-key" ]; then
  umask 077
  openssl rand -hex 24 > "$state/api-key"
fi
if [ ! -s "$state/ca.crt" ] || ! openssl x509 -checkend 86400 -noout -in "$state/etc/registry.crt" >/dev/null 2>&1; then
  log "generating the lab CA and the registry certificate for $host"
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=gpufleet lab CA" \
    -keyout "$state/ca.key" -out "$state/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$host" \
    -keyout "$state/etc/registry.key" -out "$state/registry.csr" 2>/dev/null
  printf 'subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' "$host" > "$state/ext.cnf"
  openssl x509 -req -in "$state/registry.csr" -CA "$state/ca.crt" -CAkey "$state/ca.key" -CAcreateserial \
    -days 825 -extfile "$state/ext.cnf" -out "$state/etc/registry.crt" 2>/dev/null
  rm -f "$state/registry.csr" "$state/ext.cnf"
fi
htpasswd -Bbn '$oauthtoken' "$(cat "$state/api-key")" > "$state/etc/htpasswd.new" 2>/dev/null
if ! cmp -s "$state/etc/htpasswd.new" "$state/etc/htpasswd"; then
  # bcrypt salts differ on every run: keep the old file while it still accepts the key.
  if ! htpasswd -vb "$state/etc/htpasswd" '$oauthtoken' "$(cat "$state/api-key")" >/dev/null 2>&1; then
    mv "$state/etc/htpasswd.new" "$state/etc/htpasswd"
  fi
fi
rm -f "$state/etc/htpasswd.new"
install -m 0644 "$LAB_DIR/files/registry-config.yml" "$state/etc/config.yml"
chmod 0644 "$state/etc/registry.crt" "$state/etc/htpasswd"
# The registry runs as root in its container; the key only needs to be readable there.
chmod 0600 "$state/etc/registry.key"

docker network inspect "$net" >/dev/null 2>&1 || docker network create --label gpufleet.lab=true "$net" >/dev/null
key=$(key_of "$0" "$state/etc/config.yml" "$state/etc/registry.crt" "$state/etc/htpasswd" -- "$host" "$port" "$net")
if [ "$(docker inspect -f '{{ index .Config.Labels "gpufleet.lab.key" }} {{ .State.Running }}' "$name" 2>/dev/null)" != "$key true" ]; then
  log "starting $name as $host:5000 on network $net"
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker run -d --name "$name" --restart unless-stopped --label "gpufleet.lab.key=$key" \
    --network "$net" --network-alias "$host" -p "127.0.0.1:$port:5000" \
    -v /usr/bin/docker-registry:/usr/bin/docker-registry:ro -v "$state/etc:/etc/registry:ro" \
    -v "$state/data:/var/lib/registry" --entrypoint /usr/bin/docker-registry \
    localhost/gpufleet-lab/debian12:latest serve /etc/registry/config.yml >/dev/null
fi
for _ in $(seq 30); do
  curl -fsS --cacert "$state/ca.crt" -o /dev/null -w '' "https://localhost:$port/v2/" 2>/dev/null && break
  code=$(curl -s --cacert "$state/ca.crt" -o /dev/null -w '%{http_code}' "https://localhost:$port/v2/" || true)
  [ "$code" = 401 ] && break
  sleep 1
done

# Push the Triton image unless the registry already holds this exact image (by config digest).
image="$LAB_TRITON_REPOSITORY:$LAB_TRITON_TAG"
path=${LAB_TRITON_REPOSITORY#*/}
want=$(docker image inspect -f '{{ .Id }}' "$image")
have=$(curl -s --cacert "$state/ca.crt" -u "\$oauthtoken:$(cat "$state/api-key")" \
  -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
  "https://localhost:$port/v2/$path/manifests/$LAB_TRITON_TAG" | python3 -c \
  'import json,sys
try: print(json.load(sys.stdin)["config"]["digest"])
except Exception: print("")')
if [ "$want" != "$have" ]; then
  log "pushing $image to the lab registry"
  cfg=$(mktemp -d); trap 'rm -rf "$cfg"' EXIT
  docker --config "$cfg" login -u '$oauthtoken' --password-stdin "127.0.0.1:$port" < "$state/api-key" >/dev/null
  docker tag "$image" "127.0.0.1:$port/$path:$LAB_TRITON_TAG"
  docker --config "$cfg" push -q "127.0.0.1:$port/$path:$LAB_TRITON_TAG" >/dev/null
  docker rmi "127.0.0.1:$port/$path:$LAB_TRITON_TAG" >/dev/null
fi
cat > "$state/registry.env" <<ENV
LAB_REGISTRY=$host:5000
LAB_REGISTRY_LOCAL=127.0.0.1:$port
LAB_REGISTRY_IMAGE=$host:5000/$path:$LAB_TRITON_TAG
LAB_REGISTRY_USER=\$oauthtoken
LAB_REGISTRY_CA=$state/ca.crt
LAB_REGISTRY_KEY_FILE=$state/api-key
LAB_NETWORK=$net
ENV
echo "$state"
