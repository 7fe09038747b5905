"""lab/gpu-check add_gpu: OUTPUT0 = INPUT0 + INPUT1 on the instance's GPU (PyTorch), DEVICE says where it ran.

The stub embeds libpython with an isolated configuration (PYTHONPATH is ignored) and takes its prefix from the first
python3 on PATH; run.sh puts a venv there whose site-packages hold numpy < 2 (this Triton release's stub needs it).
GPUCHECK_EXTRA_SYSPATH names where PyTorch is installed; it is added after numpy is imported, so numpy stays < 2.
"""

import json
import os
import sys

import numpy as np
import triton_python_backend_utils as pb_utils


def _log(msg):
    pb_utils.Logger.log_info("gpu-check add_gpu: " + msg)


class TritonPythonModel:
    def initialize(self, args):
        self.kind = args.get("model_instance_kind", "")
        self.device_id = int(args.get("model_instance_device_id", "0") or 0)
        # Ahead of the system's dist-packages (numpy is imported already, so its version stays).
        at = next((i for i, p in enumerate(sys.path) if p.endswith(("site-packages", "dist-packages"))), len(sys.path))
        for path in reversed(os.environ.get("GPUCHECK_EXTRA_SYSPATH", "").split(":")):
            if path and path not in sys.path:
                sys.path.insert(at, path)
        self.torch = None
        self.why_not = ""
        try:
            import torch

            if not torch.cuda.is_available():
                raise RuntimeError("torch.cuda.is_available() is False")
            self.dev = torch.device("cuda", self.device_id)
            self.gpu_name = torch.cuda.get_device_name(self.dev)
            self.torch = torch
        except Exception as exc:  # recorded, and the sum falls back to numpy on the CPU
            self.why_not = repr(exc)
        _log(
            json.dumps(
                {
                    "instance_name": args.get("model_instance_name"),
                    "kind": self.kind,
                    "device_id": self.device_id,
                    "python": sys.version.split()[0],
                    "numpy": np.__version__,
                    "torch": getattr(self.torch, "__version__", None),
                    "torch_cuda": getattr(getattr(self.torch, "version", None), "cuda", None),
                    "gpu": getattr(self, "gpu_name", None),
                    "why_not_gpu": self.why_not,
                    "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES"),
                    "PYTHONPATH": os.environ.get("PYTHONPATH"),
                    "numpy_file": np.__file__,
                    "sys_path": sys.path,
                }
            )
        )

    def execute(self, requests):
        responses = []
        for request in requests:
            a = pb_utils.get_input_tensor_by_name(request, "INPUT0").as_numpy()
            b = pb_utils.get_input_tensor_by_name(request, "INPUT1").as_numpy()
            if self.torch is not None:
                torch = self.torch
                ta = torch.tensor(a.tolist(), dtype=torch.float32, device=self.dev)
                tb = torch.tensor(b.tolist(), dtype=torch.float32, device=self.dev)
                tsum = ta + tb
                torch.cuda.synchronize(self.dev)
                where = f"{tsum.device} ({self.gpu_name}), instance {self.kind} {self.device_id}"
                out = np.array(tsum.cpu().tolist(), dtype=np.float32)
            else:
                where = f"cpu (numpy; {self.why_not}), instance {self.kind} {self.device_id}"
                out = (a + b).astype(np.float32)
            _log("executed on " + where)
            responses.append(
                pb_utils.InferenceResponse(
                    output_tensors=[
                        pb_utils.Tensor("OUTPUT0", out),
                        pb_utils.Tensor("DEVICE", np.array([where.encode()], dtype=np.object_)),
                    ]
                )
            )
        return responses
