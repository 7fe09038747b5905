#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# ee-check.sh [DIR]: checks the execution environment (execution-environment.yml) as far as it can be checked with no
# container registry: the image itself is built on the user's side (`ansible-builder build`). Needs `make build`.
#  1. `ansible-builder create` writes the build context: Containerfile (base image, ansible-core/runner at
#     requirements.txt's pins), _build/requirements.yml (= ee/requirements.yml), the collection's tarball;
#  2. the collections the image's galaxy stage installs, into DIR/collections: gpufleet.triton from the built tarball
#     in the context, as that stage installs it (ansible-galaxy in _build, no Galaxy needed), its dependencies
#     copied from the `ansible` package (Galaxy is unreachable) at the versions ee/requirements.yml pins, which must
#     be the ones that package ships;
#  3. `ansible-builder introspect` on them, as the image's builder stage runs it: the merged Python and system
#     requirements (DIR/requirements.txt, DIR/bindep.txt), which must hold gpufleet.triton's own
#     (meta/ee-requirements.txt, meta/ee-bindep.txt, read from the installed collection);
#  4. `pip install --dry-run --ignore-installed --report` of the merged requirements with the EE's ansible-core and
#     ansible-runner, for the EE's Python (execution-environment.yml's python_path) on x86_64, wheels only: they
#     must resolve on PyPI (DIR/pip-report.json);
#  5. bindep: both files parse, and on the EE's platform (RPM, dnf) they install what meta/ee-bindep.txt names.
# With DIR the results stay there (lab/scripts/ee-image.sh builds its stand-in image from them); without, a
# temporary folder is used and removed.
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
root=$(cd "$LAB_DIR/.." && pwd)
BIN=${VENV:-$root/.venv}/bin
cd "$root" || exit 1

if [ -n "${1:-}" ]; then
  work=$1
  if [ -e "$work" ] && [ -n "$(ls -A "$work")" ]; then echo "[ee-check] $work is not empty" >&2; exit 1; fi
  mkdir -p "$work"
else
  work=$(mktemp -d /var/tmp/gpufleet-ee-check.XXXXXX)
  trap 'rm -rf "$work"' EXIT
fi
fail() { printf '[ee-check] FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf '[ee-check] ok: %s\n' "$*"; }

# What the checks compare against, read once: requirements.txt's pins, galaxy.yml's version, the EE definition.
settings=$("$BIN/python" - <<'EOF'
import re, yaml
pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", open("requirements.txt").read(), re.M))
ee = yaml.safe_load(open("execution-environment.yml"))
deps = ee["dependencies"]
print(yaml.safe_load(open("galaxy.yml"))["version"], pins["ansible-core"], pins["ansible-runner"],
      deps["ansible_core"]["package_pip"], deps["ansible_runner"]["package_pip"],
      deps["python_interpreter"]["python_path"], ee["images"]["base_image"]["name"], sep="\n")
EOF
) || fail "cannot read requirements.txt, galaxy.yml or execution-environment.yml"
{ read -r version; read -r core_pin; read -r runner_pin; read -r ee_core; read -r ee_runner; read -r ee_python
  read -r base_image; } <<<"$settings"
tarball=build/gpufleet-triton-$version.tar.gz
[ -f "$tarball" ] || fail "$tarball is missing: run make build"
[ "$ee_core" = "ansible-core==$core_pin" ] \
  || fail "execution-environment.yml installs $ee_core, requirements.txt pins ansible-core==$core_pin"
[ "$ee_runner" = "ansible-runner==$runner_pin" ] \
  || fail "execution-environment.yml installs $ee_runner, requirements.txt pins ansible-runner==$runner_pin"

# 1. The build context.
"$BIN/ansible-builder" create -f execution-environment.yml -c "$work/context" --output-filename Containerfile \
  >"$work/create.log" 2>&1 || { cat "$work/create.log" >&2; fail "ansible-builder create"; }
ctx=$work/context
[ -f "$ctx/Containerfile" ] || fail "no Containerfile in the build context"
grep -qxF "ARG EE_BASE_IMAGE=\"$base_image\"" "$ctx/Containerfile" \
  || fail "the Containerfile does not start from $base_image"
grep -qxF "ARG ANSIBLE_INSTALL_REFS=\"$ee_core $ee_runner\"" "$ctx/Containerfile" \
  || fail "the Containerfile does not install $ee_core $ee_runner"
grep -q 'ansible-galaxy collection install .*-r requirements.yml' "$ctx/Containerfile" \
  || fail "the Containerfile's galaxy stage does not install _build/requirements.yml"
cmp -s ee/requirements.yml "$ctx/_build/requirements.yml" \
  || fail "_build/requirements.yml differs from ee/requirements.yml"
grep -qE "^\s*- name: collections/gpufleet-triton-$version\.tar\.gz$" ee/requirements.yml \
  || fail "ee/requirements.yml does not install collections/gpufleet-triton-$version.tar.gz (galaxy.yml's version)"
cmp -s "$tarball" "$ctx/_build/collections/gpufleet-triton-$version.tar.gz" \
  || fail "the build context lacks $tarball under _build/collections"
ok "ansible-builder create: $(find "$ctx" -type f | wc -l) files, base $base_image, $ee_core $ee_runner"

# 2. The collections the galaxy stage installs.
coll=$work/collections
# The tarball as the galaxy stage installs it: ee/requirements.yml's file entries, from _build (its WORKDIR). Only
# this path, and --force: a gpufleet.triton found elsewhere (make's link of this checkout) must not count.
"$BIN/python" -c '
import sys, yaml
reqs = yaml.safe_load(open("ee/requirements.yml"))
yaml.safe_dump({"collections": [c for c in reqs["collections"] if c.get("type") == "file"]}, open(sys.argv[1], "w"))
' "$work/requirements-files.yml"
(cd "$ctx/_build" && ANSIBLE_COLLECTIONS_PATH=$coll "$BIN/ansible-galaxy" collection install --force --no-deps \
  --offline -p "$coll" -r "$work/requirements-files.yml") >"$work/install.log" 2>&1 \
  || { cat "$work/install.log" >&2; fail "ansible-galaxy collection install of ee/requirements.yml's files in _build"; }
[ -f "$coll/ansible_collections/gpufleet/triton/MANIFEST.json" ] \
  || { cat "$work/install.log" >&2; fail "ansible-galaxy did not install gpufleet.triton into $coll"; }
site=$("$BIN/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/ansible_collections
galaxy_pins=$("$BIN/python" -c '
import yaml
for c in yaml.safe_load(open("ee/requirements.yml"))["collections"]:
    if c.get("type") != "file":
        print(c["name"], c["version"])') || fail "cannot read ee/requirements.yml"
while read -r name want; do
  ns=${name%%.*} n=${name#*.}
  have=$("$BIN/python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["collection_info"]["version"])' \
    "$site/$ns/$n/MANIFEST.json")
  [ "$have" = "$want" ] \
    || fail "ee/requirements.yml pins $name $want, the ansible package in requirements.txt ships $have"
  mkdir -p "$coll/ansible_collections/$ns"
  cp -a "$site/$ns/$n" "$coll/ansible_collections/$ns/$n"
done <<<"$galaxy_pins"
ok "collections in $coll: $("$BIN/python" - "$coll/ansible_collections" <<'EOF'
import glob, json, os, sys
found = sorted(glob.glob(os.path.join(sys.argv[1], "*", "*", "MANIFEST.json")))
print(", ".join("{namespace}.{name} {version}".format(**json.load(open(m))["collection_info"]) for m in found))
EOF
)"

# 3. Introspection, as the builder stage runs it.
user=()
[ -f "$ctx/_build/requirements.txt" ] && user+=(--user-pip "$ctx/_build/requirements.txt")
[ -f "$ctx/_build/bindep.txt" ] && user+=(--user-bindep "$ctx/_build/bindep.txt")
"$BIN/ansible-builder" introspect "$coll" "${user[@]}" --write-pip "$work/requirements.txt" \
  --write-bindep "$work/bindep.txt" >"$work/introspect.yml" 2>"$work/introspect.log" \
  || { cat "$work/introspect.log" >&2; fail "ansible-builder introspect"; }
for pair in "meta/ee-requirements.txt:$work/requirements.txt" "meta/ee-bindep.txt:$work/bindep.txt"; do
  own=${pair%%:*} merged=${pair#*:}
  while read -r line; do
    grep -qxF "$line  # from collection gpufleet.triton" "$merged" \
      || fail "introspect did not list '$line' (from the installed collection's $own)"
  done < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$own")
done
ok "ansible-builder introspect: $(grep -c . "$work/requirements.txt") Python requirements," \
  "$(grep -c . "$work/bindep.txt") system"
sed 's/^/    /' "$work/requirements.txt" "$work/bindep.txt"

# 4. The merged Python requirements resolve on PyPI, for the EE's Python.
pyver=$(basename "$ee_python" | sed -n 's/^python\([0-9]\.[0-9]*\)$/\1/p')
[ -n "$pyver" ] || fail "cannot tell the EE's Python version from $ee_python"
# CentOS Stream 9 has glibc 2.34: every manylinux tag up to it (this pip takes them one by one, not as a range).
platforms=()
for t in manylinux_2_34 manylinux_2_28 manylinux_2_17 manylinux2014 manylinux_2_12 manylinux2010 manylinux_2_5 \
         manylinux1; do
  platforms+=(--platform "${t}_x86_64")
done
"$BIN/pip" install --dry-run --ignore-installed --quiet --report "$work/pip-report.json" \
  --python-version "$pyver" --implementation cp "${platforms[@]}" --only-binary=:all: \
  --target "$work/pip-target" \
  -r "$work/requirements.txt" "$ee_core" "$ee_runner" >"$work/pip.log" 2>&1 \
  || { grep -v 'is ignored: it is neither a file nor a directory' "$work/pip.log" >&2
       fail "the merged Python requirements do not resolve for Python $pyver (pip install --dry-run)"; }
"$BIN/python" - "$work/pip-report.json" "$work/requirements.txt" <<'EOF' || fail "pip's report lacks a requirement"
import json, re, sys
def norm(name):
    return name.lower().replace("_", "-")
got = {norm(i["metadata"]["name"]): i["metadata"]["version"] for i in json.load(open(sys.argv[1]))["install"]}
want = {norm(re.split(r"[<>=!~;\[ ]", line.strip(), maxsplit=1)[0]) for line in open(sys.argv[2]) if line.strip()}
want |= {"ansible-core", "ansible-runner"}
missing = sorted(want - got.keys())
if missing:
    sys.exit(f"not resolved: {missing}")
print(f"[ee-check] ok: pip resolves {len(got)} packages: " + ", ".join(f"{n}=={got[n]}" for n in sorted(want)))
EOF

# 5. bindep: the files parse, and on the EE's platform they name what the collection needs.
"$BIN/python" - meta/ee-bindep.txt "$work/bindep.txt" <<'EOF' || fail "bindep"
import sys
from bindep.depends import Depends
# What bindep sees on CentOS Stream 9 (and on RHEL, UBI, Fedora: all rpm and dnf).
profiles = ["default", "platform:rpm", "platform:dnf", "platform:redhat", "platform:centos"]
lists = []
for path in sys.argv[1:]:
    try:
        deps = Depends(open(path).read())
    except Exception as exc:  # bindep raises its parser's error type
        sys.exit(f"{path}: does not parse: {exc}")
    lists.append({rule[0] for rule in deps.active_rules(profiles)})
missing = sorted(lists[0] - lists[1])
if missing:
    sys.exit(f"the merged bindep.txt lacks {missing}")
print(f"[ee-check] ok: bindep parses both files; on an RPM platform: {' '.join(sorted(lists[1]))}")
EOF
rc=0; "$BIN/bindep" -f "$work/bindep.txt" -b >/dev/null 2>&1 || rc=$?
# bindep exits 1 when packages are missing (here: the rpm ones are not even applicable) and 2 on a parse error.
[ "$rc" -ne 2 ] || fail "bindep -f $work/bindep.txt: parse error"
ok "execution environment checked (build context, introspect, pip resolution, bindep)"
