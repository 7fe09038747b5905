"""The generator's building blocks (configgen.py): the model and case records, and the text-format renderer."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

DTYPES = ("TYPE_FP32", "TYPE_FP16", "TYPE_INT32", "TYPE_INT64", "TYPE_UINT8", "TYPE_BOOL", "TYPE_STRING", "TYPE_FP64")
OTHER_BACKENDS = (
    ("backend", "onnxruntime", "model.onnx"),
    ("backend", "pytorch", "model.pt"),
    ("platform", "tensorrt_plan", "model.plan"),
    ("platform", "onnxruntime_onnx", "model.onnx"),
    ("backend", "openvino", "model.xml"),
    ("backend", "tensorflow", "model.savedmodel/"),
)
# Answers every request (warmup runs execute), in both transaction policies.
MODEL_PY = b"""import json

import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        self.decoupled = config.get("model_transaction_policy", {}).get("decoupled", False)

    def execute(self, requests):
        if self.decoupled:
            for request in requests:
                request.get_response_sender().send(flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
            return None
        return [pb_utils.InferenceResponse(output_tensors=[]) for _ in requests]
"""


class Enum(str):
    """An enum symbol (rendered bare)."""


class Raw(str):
    """Text put into the config as it is (a wrong type, a number for an enum)."""


class Twice:
    """A singular field written twice (a duplicated scalar)."""

    def __init__(self, value):
        self.value = value


@dataclass
class Model:
    config: dict
    files: dict = field(default_factory=dict)  # path under the model folder -> bytes (a path ending in / is a folder)
    text: str | None = None  # config.pbtxt as written (after text-level mutations)
    twin_of: str | None = None  # the model of a missing backend this python model stands in for

    @property
    def backend(self) -> str:
        if self.config.get("platform") == "ensemble":
            return "ensemble"
        backend = self.config.get("backend")
        if isinstance(backend, str) and backend and not isinstance(backend, Raw):
            return backend
        platform = self.config.get("platform")
        return {"tensorrt_plan": "tensorrt", "onnxruntime_onnx": "onnxruntime"}.get(platform, str(platform or ""))


@dataclass
class Case:
    number: int
    area: str
    mutation: str
    what: str
    models: dict  # name -> Model
    target: str  # the model the mutation hit
    risky: bool = False  # may crash or hang the server: judged in small batches
    outside_figure: bool = False  # a file only a missing backend reads: unit-tested, not in the agreement figure

    @property
    def id(self) -> str:
        return f"c{self.number:05d}"

    @property
    def descriptor(self) -> str:
        return f"{self.area}:{self.what}"


# -- rendering --------------------------------------------------------------------------------------------------------
def _scalar(value) -> str:
    if isinstance(value, (Enum, Raw)):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))


def render(message: dict, indent: int = 0, rng: random.Random | None = None) -> str:
    pad = "  " * indent
    lines = []
    for key, value in message.items():
        if isinstance(value, Twice):
            lines.append(f"{pad}{key}: {_scalar(value.value)}")
            lines.append(f"{pad}{key}: {_scalar(value.value)}")
        elif isinstance(value, list):
            if all(not isinstance(v, dict) for v in value):
                if value and rng is not None and rng.random() < 0.3:
                    lines.extend(f"{pad}{key}: {_scalar(v)}" for v in value)
                else:
                    lines.append("{}{}: [ {} ]".format(pad, key, ", ".join(_scalar(v) for v in value)))
            else:
                for item in value:
                    lines.append(f"{pad}{key} {{")
                    lines.append(render(item, indent + 1, rng))
                    lines.append(f"{pad}}}")
        elif isinstance(value, dict):
            lines.append(f"{pad}{key} {{")
            lines.append(render(value, indent + 1, rng))
            lines.append(f"{pad}}}")
        else:
            lines.append(f"{pad}{key}: {_scalar(value)}")
    return "\n".join(line for line in lines if line != "")
