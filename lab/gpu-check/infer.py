"""lab/gpu-check: waits for tritonserver's /v2/health/ready and the model's ready, reads its config, sends one
inference over HTTP (KServe v2 JSON) and prints one JSON document with everything (standard library only).

Usage: infer.py HTTP_URL METRICS_URL MODEL SERVER_PID [TIMEOUT_S]
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request


def call(url, body=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as exc:
        return None, repr(exc)


def alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def main():
    url, metrics_url, model, pid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 180
    result = {"model": model}
    start = time.monotonic()
    ready = False
    while time.monotonic() - start < timeout and alive(pid):
        status, _ = call(url + "/v2/health/ready", timeout=2)
        mstatus, _ = call(f"{url}/v2/models/{model}/ready", timeout=2)
        if status == 200 and mstatus == 200:
            ready = True
            break
        time.sleep(0.5)
    result["ready"] = ready
    result["ready_after_s"] = round(time.monotonic() - start, 1)
    result["server_alive"] = alive(pid)
    if not ready:
        result["health_ready"] = call(url + "/v2/health/ready", timeout=2)
        result["repository_index"] = call(url + "/v2/repository/index", body={}, timeout=5)
        print(json.dumps(result, indent=2))
        return 1
    for key, path in (
        ("server", "/v2"),
        ("model_metadata", "/v2/models/" + model),
        ("model_config", f"/v2/models/{model}/config"),
    ):
        status, text = call(url + path)
        result[key] = json.loads(text) if status == 200 else [status, text]
    body = {
        "inputs": [
            {"name": "INPUT0", "shape": [4], "datatype": "FP32", "data": [1.0, 2.0, 3.0, 4.0]},
            {"name": "INPUT1", "shape": [4], "datatype": "FP32", "data": [10.0, 20.0, 30.0, 40.0]},
        ],
        "outputs": [{"name": "OUTPUT0"}, {"name": "DEVICE"}],
    }
    result["request"] = body
    t0 = time.monotonic()
    status, text = call(f"{url}/v2/models/{model}/infer", body=body, timeout=120)
    result["infer_s"] = round(time.monotonic() - t0, 3)
    result["infer_status"] = status
    try:
        result["response"] = json.loads(text)
    except ValueError:
        result["response"] = text
    ok = False
    if status == 200:
        outs = {o["name"]: o["data"] for o in result["response"].get("outputs", [])}
        ok = outs.get("OUTPUT0") == [11.0, 22.0, 33.0, 44.0]
        result["device"] = (outs.get("DEVICE") or [""])[0]
    result["answer_correct"] = ok
    status, text = call(f"{url}/v2/models/{model}/stats")
    result["model_stats"] = json.loads(text) if status == 200 else [status, text]
    status, text = call(metrics_url + "/metrics", timeout=5)
    result["metrics_gpu_lines"] = (
        [ln for ln in text.splitlines() if ln.startswith("nv_gpu") or ln.startswith("nv_energy")]
        if status == 200
        else [status, text]
    )
    print(json.dumps(result, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
