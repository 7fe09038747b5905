# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The load balancer's hooks of a Triton instance: written by gpufleet.triton.triton_server to
/etc/triton-server/lb-request.py and run by each instance's stop and started scripts, with python3 (or the Python
Ansible found on the node). Python, not curl: a node always has the Python that Ansible runs, not always curl.

    lb-request.py post URL                            POST an empty body to URL (out of, or back into, the balancer)
    lb-request.py wait-ready URL SECONDS [MODEL...]   wait until URL (the instance's /v2/health/ready) answers 200,
                                                      and so does /v2/models/<MODEL>/ready beside it for each MODEL

Ready means what gpufleet.triton.server_info's wait_for=models_ready means, the role's gate
(plugins/module_utils/_triton_http.py): the server answers ready (which it does only while live) and each expected
model answers ready. The role passes the gate's models, so an instance rejoins the balancer when its gate would pass.

The request headers (triton_server_lb_headers: tokens) come from lb-headers.json beside this file, root only, so
they are in no command line; they are never printed.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

USAGE = "usage: lb-request.py post URL | lb-request.py wait-ready URL SECONDS [MODEL...] (URL: http or https)"
READY = "/v2/health/ready"
HEADERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lb-headers.json")


def post(url):
    try:
        with open(HEADERS) as f:
            headers = json.load(f)
    except FileNotFoundError:
        headers = {}
    request = urllib.request.Request(url, data=b"", method="POST", headers=headers)  # noqa: S310 - main() allows http(s) only
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - main() allows http(s) only
            return answer.status
    except urllib.error.HTTPError as exc:
        sys.exit(f"POST {url}: HTTP {exc.code}")
    except (OSError, ValueError) as exc:
        sys.exit(f"POST {url}: {getattr(exc, 'reason', exc)}")


def answers_200(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - main() allows http(s) only
            return answer.status == 200
    except (OSError, ValueError):
        return False


def wait_ready(url, seconds, models=()):
    base = url[: -len(READY)] if url.endswith(READY) else None
    if models and base is None:
        sys.exit(f"wait-ready with models needs the instance's {READY} URL, not {url}")
    urls = [url] + [f"{base}/v2/models/{urllib.parse.quote(m, safe='')}/ready" for m in models]
    deadline = time.monotonic() + seconds
    while True:
        waiting = [u for u in urls if not answers_200(u)]
        if not waiting:
            return
        urls = waiting
        if time.monotonic() >= deadline:
            sys.exit(f"{' and '.join(waiting)} did not answer 200 within {seconds} s")
        time.sleep(1)


def main(argv):
    if len(argv) < 2 or not argv[1].startswith(("http://", "https://")):
        sys.exit(USAGE)
    if len(argv) == 2 and argv[0] == "post":
        post(argv[1])
    elif len(argv) >= 3 and argv[0] == "wait-ready" and argv[2].isdigit():
        wait_ready(argv[1], int(argv[2]), argv[3:])
    else:
        sys.exit(USAGE)


if __name__ == "__main__":
    main(sys.argv[1:])
