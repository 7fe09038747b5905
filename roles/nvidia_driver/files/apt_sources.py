# Prints, as JSON, the apt sources of the release (argv[1]) that carry the component main:
# [{"uris": [uri], "suites": [...], "signed_by": path or ""}]. Reads one-line (*.list) and deb822 (*.sources)
# files; skips the role's own file (argv[2]). Signed-By is carried over: apt refuses one source with two values.
import glob
import json
import os
import sys

release, own = sys.argv[1], sys.argv[2]
found = {}


def add(types, uris, suites, comps, signed_by):
    if "deb" not in types or "main" not in comps:
        return
    for uri in uris:
        for suite in suites:
            if suite == release or suite.startswith(release + "-"):
                suites_of = found.setdefault((uri.rstrip("/") + "/", signed_by), [])
                if suite not in suites_of:
                    suites_of.append(suite)


for path in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]:
    if not os.path.isfile(path):
        continue
    for line in open(path):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        signed_by = ""
        if "[" in line:
            head, rest = line.split("[", 1)
            options, tail = ([*rest.split("]", 1), ""])[:2]
            for option in options.split():
                if option.startswith("signed-by="):
                    signed_by = option.partition("=")[2]
            line = head + tail
        words = line.split()
        if len(words) >= 4:
            add([words[0]], [words[1]], [words[2]], words[3:], signed_by)
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    if os.path.basename(path) == own:
        continue
    for stanza in open(path).read().split("\n\n"):
        fields = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.split()
        if fields.get("enabled", ["yes"])[0].lower() == "no":
            continue
        signed = fields.get("signed-by", [])
        add(
            fields.get("types", []),
            fields.get("uris", []),
            fields.get("suites", []),
            fields.get("components", []),
            signed[0] if len(signed) == 1 and signed[0].startswith("/") else "",
        )
print(
    json.dumps(
        [{"uris": [uri], "suites": suites, "signed_by": signed_by} for (uri, signed_by), suites in found.items()]
    )
)
