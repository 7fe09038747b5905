"""A deterministic generator of Triton model repositories for the differential test (test_differential_triton.py).

Seeds are valid configurations, built per area of model_config.proto (the list in AREAS); each seed is then either
kept, varied (another valid shape) or mutated by one mutation class (MUTATIONS). The field types of a mutation come
from the compiled schema tritonclient ships (`model_config_pb2`), so every field of a seed can be hit; the
contradictory mutations are written per area from Triton's documentation (model_configuration.md, ensemble_models.md,
batcher.md, ...). Nothing here is Triton's own test data.

A case is one or more models (an ensemble and its members) named `c<number>_<role>`, so that hundreds of cases share
one repository and one server start. Each case records its area, its mutation class and a descriptor (`area:what`)
that the list of known disagreements (differential_known.yml) refers to.
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass, field

from tritonclient.grpc import model_config_pb2 as pb2

AREAS = (
    "top_level",
    "io",
    "dynamic_batching",
    "sequence_batching",
    "ensemble",
    "instance_group",
    "reshape",
    "optional_inputs",
    "batch_io",
    "warmup",
    "version_policy",
    "transaction_policy",
    "response_cache",
    "optimization",
    "backend_files",
)
MUTATIONS = (
    "none",
    "missing",
    "duplicated",
    "contradictory",
    "out_of_range",
    "wrong_type",
    "wrong_enum",
    "broken_syntax",
    "name_mismatch",
)
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


# -- seeds ------------------------------------------------------------------------------------------------------------
class Seeds:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def tensor(self, name, *, dtype=None, batch=True, dims=None):
        r = self.rng
        if dims is None:
            dims = [r.choice([1, 2, 3, 4, 8, 16, -1]) for _ in range(r.choice([1, 1, 2, 3]))]
        return {"name": name, "data_type": Enum(dtype or r.choice(DTYPES)), "dims": dims}

    def python(self, name, *, max_batch_size=None, inputs=1, outputs=1, extra=None):
        r = self.rng
        mbs = r.choice([0, 1, 4, 8, 16]) if max_batch_size is None else max_batch_size
        config = {"name": name, "backend": "python", "max_batch_size": mbs}
        config["input"] = [self.tensor(f"INPUT{i}") for i in range(inputs)]
        config["output"] = [self.tensor(f"OUTPUT{i}") for i in range(outputs)]
        config["instance_group"] = [{"kind": Enum("KIND_CPU"), "count": 1}]
        if extra:
            config.update(extra)
        return Model(config, {"1/model.py": MODEL_PY})

    # Each area's seed: (models, target name). Names are filled in by the caller (prefix).
    def top_level(self, p):
        r = self.rng
        choice = r.random()
        if choice < 0.45:
            m = self.python(p + "m")
            extra = r.sample(
                [
                    ("default_model_filename", "model.py"),
                    ("parameters", [{"key": f"k{r.randrange(9)}", "value": {"string_value": "v"}}]),
                    ("model_operations", {"op_library_filename": []}),
                    ("cc_model_filenames", [{"key": "7.5", "value": "model.py"}]),
                    ("metric_tags", [{"key": "team", "value": "a"}]),
                    ("runtime", ""),
                    ("model_metrics", {}),
                ],
                k=r.randrange(0, 3),
            )
            for key, value in extra:
                m.config[key] = value
            return {p + "m": m}, p + "m"
        if choice < 0.8:
            how, value, filename = r.choice(OTHER_BACKENDS)
            config = {"name": p + "m", how: value, "max_batch_size": r.choice([0, 4, 8])}
            config["input"] = [self.tensor("INPUT0")]
            config["output"] = [self.tensor("OUTPUT0")]
            if r.random() < 0.5:
                config["instance_group"] = [{"kind": Enum("KIND_CPU"), "count": r.choice([1, 2])}]
            files = {"1/" + filename: b"\x00not a real model\n"}
            return {p + "m": Model(config, files)}, p + "m"
        # a backend with no model file of its own kind (identity) or a custom name
        backend = r.choice(["identity", "repeat", "my_custom_backend"])
        config = {"name": p + "m", "backend": backend, "max_batch_size": 0}
        config["input"] = [self.tensor("INPUT0", dtype="TYPE_FP32")]
        config["output"] = [self.tensor("OUTPUT0", dtype="TYPE_FP32")]
        return {p + "m": Model(config, {"1/": b""})}, p + "m"

    def io(self, p):
        r = self.rng
        m = self.python(p + "m", inputs=r.randrange(1, 4), outputs=r.randrange(1, 3))
        for t in m.config["input"]:
            if r.random() < 0.2:
                t["format"] = Enum(r.choice(["FORMAT_NONE", "FORMAT_NCHW", "FORMAT_NHWC"]))
                if t["format"] != "FORMAT_NONE":
                    t["dims"] = [3, 8, 8]
            if r.random() < 0.15:
                t["allow_ragged_batch"] = True
        for t in m.config["output"]:
            if r.random() < 0.15:
                t["label_filename"] = "labels.txt"
                m.files["labels.txt"] = b"a\nb\n"
        return {p + "m": m}, p + "m"

    def dynamic_batching(self, p):
        r = self.rng
        mbs = r.choice([4, 8, 16])
        db = {}
        if r.random() < 0.7:
            db["preferred_batch_size"] = sorted(r.sample([1, 2, 4, mbs], k=r.randrange(1, 3)))
        if r.random() < 0.6:
            db["max_queue_delay_microseconds"] = r.choice([0, 100, 5000])
        if r.random() < 0.3:
            db["preserve_ordering"] = r.choice([True, False])
        if r.random() < 0.4:
            levels = r.choice([1, 2, 3])
            db["priority_levels"] = levels
            db["default_priority_level"] = r.randrange(1, levels + 1)
            if r.random() < 0.5:
                db["priority_queue_policy"] = [{"key": levels, "value": self.queue_policy()}]
        if r.random() < 0.4:
            db["default_queue_policy"] = self.queue_policy()
        m = self.python(p + "m", max_batch_size=mbs, extra={"dynamic_batching": db})
        return {p + "m": m}, p + "m"

    def queue_policy(self):
        r = self.rng
        policy = {"timeout_action": Enum(r.choice(["REJECT", "DELAY"]))}
        if r.random() < 0.7:
            policy["default_timeout_microseconds"] = r.choice([0, 1000, 100000])
        if r.random() < 0.5:
            policy["allow_timeout_override"] = r.choice([True, False])
        if r.random() < 0.5:
            policy["max_queue_size"] = r.choice([0, 8, 64])
        return policy

    def sequence_batching(self, p):
        r = self.rng
        mbs = r.choice([0, 4, 8])
        sb = {}
        strategy = r.choice(["direct", "oldest", None])
        if strategy == "direct":
            sb["direct"] = {"max_queue_delay_microseconds": r.choice([0, 100])} if r.random() < 0.5 else {}
        elif strategy == "oldest":
            sb["oldest"] = {"max_candidate_sequences": r.choice([1, 4]), "preferred_batch_size": [mbs or 1]}
            if mbs == 0:
                sb["oldest"] = {"max_candidate_sequences": 1}
        sb["max_sequence_idle_microseconds"] = r.choice([1000000, 5000000])
        controls = []
        kinds = r.sample(
            ["CONTROL_SEQUENCE_START", "CONTROL_SEQUENCE_READY", "CONTROL_SEQUENCE_END"], k=r.randrange(0, 4)
        )
        for i, kind in enumerate(kinds):
            form = r.choice(["int32_false_true", "fp32_false_true", "bool_false_true"])
            values = {"int32_false_true": [0, 1], "fp32_false_true": [0, 1], "bool_false_true": [False, True]}[form]
            controls.append({"name": f"CTRL{i}", "control": [{"kind": Enum(kind), form: values}]})
        if r.random() < 0.4:
            controls.append(
                {
                    "name": "CORRID",
                    "control": [
                        {
                            "kind": Enum("CONTROL_SEQUENCE_CORRID"),
                            "data_type": Enum(r.choice(["TYPE_UINT64", "TYPE_STRING"])),
                        }
                    ],
                }
            )
        if controls:
            sb["control_input"] = controls
        extra = {"sequence_batching": sb}
        m = self.python(p + "m", max_batch_size=mbs, extra=extra)
        if r.random() < 0.4:
            state = {
                "input_name": "STATE_IN",
                "output_name": "STATE_OUT",
                "data_type": Enum("TYPE_FP32"),
                "dims": [r.choice([1, 4, -1])],
            }
            if r.random() < 0.4:
                state["dims"] = [4]
                state["initial_state"] = [
                    {"name": "zeros", "data_type": Enum("TYPE_FP32"), "dims": [4], "zero_data": True}
                ]
            sb["state"] = [state]
        return {p + "m": m}, p + "m"

    def ensemble(self, p):
        r = self.rng
        mbs = r.choice([0, 4, 8])
        dtype = r.choice(["TYPE_FP32", "TYPE_INT32"])
        dims = [r.choice([2, 4, -1])]
        shape = r.random()
        members = {}

        def member(name, ins, outs):
            m = self.python(name, max_batch_size=mbs, inputs=0, outputs=0)
            m.config["input"] = [{"name": n, "data_type": Enum(dtype), "dims": list(dims)} for n in ins]
            m.config["output"] = [{"name": n, "data_type": Enum(dtype), "dims": list(dims)} for n in outs]
            members[name] = m
            return m

        steps = []
        if shape < 0.5:  # a chain A -> B [-> C]
            length = r.choice([2, 3])
            previous = "ENS_IN"
            for i in range(length):
                name = f"{p}s{i}"
                member(name, ["IN"], ["OUT"])
                out = "ENS_OUT" if i == length - 1 else f"t{i}"
                steps.append(
                    {
                        "model_name": name,
                        "model_version": -1,
                        "input_map": [{"key": "IN", "value": previous}],
                        "output_map": [{"key": "OUT", "value": out}],
                    }
                )
                previous = out
            ens_outputs = ["ENS_OUT"]
        else:  # fan-out: A feeds B and C, both outputs are the ensemble's
            member(p + "sa", ["IN"], ["OUT"])
            member(p + "sb", ["IN"], ["OUT"])
            steps.append(
                {
                    "model_name": p + "sa",
                    "model_version": -1,
                    "input_map": [{"key": "IN", "value": "ENS_IN"}],
                    "output_map": [{"key": "OUT", "value": "mid"}],
                }
            )
            steps.append(
                {
                    "model_name": p + "sb",
                    "model_version": -1,
                    "input_map": [{"key": "IN", "value": "mid"}],
                    "output_map": [{"key": "OUT", "value": "ENS_OUT"}],
                }
            )
            third = p + "sc"
            member(third, ["IN"], ["OUT"])
            steps.append(
                {
                    "model_name": third,
                    "model_version": 1,
                    "input_map": [{"key": "IN", "value": "mid"}],
                    "output_map": [{"key": "OUT", "value": "ENS_OUT2"}],
                }
            )
            ens_outputs = ["ENS_OUT", "ENS_OUT2"]
        ens = {
            "name": p + "e",
            "platform": "ensemble",
            "max_batch_size": mbs,
            "input": [{"name": "ENS_IN", "data_type": Enum(dtype), "dims": list(dims)}],
            "output": [{"name": n, "data_type": Enum(dtype), "dims": list(dims)} for n in ens_outputs],
            "ensemble_scheduling": {"step": steps},
        }
        models = dict(members)
        models[p + "e"] = Model(ens, {"1/": b""})
        if r.random() < 0.2:  # an ensemble of an ensemble
            outer = copy.deepcopy(ens)
            outer["name"] = p + "o"
            outer["ensemble_scheduling"] = {
                "step": [
                    {
                        "model_name": p + "e",
                        "model_version": -1,
                        "input_map": [{"key": "ENS_IN", "value": "ENS_IN"}],
                        "output_map": [{"key": n, "value": n} for n in ens_outputs],
                    }
                ]
            }
            models[p + "o"] = Model(outer, {"1/": b""})
            return models, r.choice([p + "e", p + "o"])
        return models, p + "e"

    def instance_group(self, p):
        r = self.rng
        m = self.python(p + "m")
        groups = []
        for i in range(r.choice([1, 1, 2])):
            g = {"kind": Enum(r.choice(["KIND_CPU", "KIND_CPU", "KIND_MODEL", "KIND_AUTO"])), "count": r.choice([1, 2])}
            if r.random() < 0.4:
                g["name"] = f"{p}g{i}"
            if r.random() < 0.2:
                g["rate_limiter"] = {
                    "resources": [{"name": "R1", "count": r.choice([1, 4])}],
                    "priority": r.choice([1, 2]),
                }
            if r.random() < 0.1:
                g["passive"] = True
            if r.random() < 0.1:
                g["host_policy"] = "policy_a"
            groups.append(g)
        m.config["instance_group"] = groups
        return {p + "m": m}, p + "m"

    def reshape(self, p):
        r = self.rng
        m = self.python(p + "m")
        t = r.choice(m.config["input"] + m.config["output"])
        dims = r.choice([[4], [2, 2], [1], [8, 1]])
        t["dims"] = dims
        size = 1
        for d in dims:
            size *= d
        t["reshape"] = {"shape": r.choice([[size], [1, size], [size, 1]] + ([[]] if size == 1 else []))}
        return {p + "m": m}, p + "m"

    def optional_inputs(self, p):
        r = self.rng
        m = self.python(p + "m", inputs=2)
        m.config["input"][r.randrange(2)]["optional"] = True
        if r.random() < 0.3:
            m.config["dynamic_batching"] = {}
            m.config["max_batch_size"] = 8
        return {p + "m": m}, p + "m"

    def batch_io(self, p):
        r = self.rng
        m = self.python(p + "m", max_batch_size=r.choice([4, 8]), inputs=1)
        m.config["input"][0]["allow_ragged_batch"] = True
        kind = r.choice(
            [
                "BATCH_ELEMENT_COUNT",
                "BATCH_ACCUMULATED_ELEMENT_COUNT",
                "BATCH_ACCUMULATED_ELEMENT_COUNT_WITH_ZERO",
                "BATCH_MAX_ELEMENT_COUNT_AS_SHAPE",
                "BATCH_ITEM_SHAPE",
                "BATCH_ITEM_SHAPE_FLATTEN",
            ]
        )
        m.config["batch_input"] = [
            {
                "kind": Enum(kind),
                "target_name": ["BI0"],
                "data_type": Enum(r.choice(["TYPE_FP32", "TYPE_INT32"])),
                "source_input": ["INPUT0"],
            }
        ]
        if r.random() < 0.5:
            m.config["batch_output"] = [
                {"target_name": ["OUTPUT0"], "kind": Enum("BATCH_SCATTER_WITH_INPUT_SHAPE"), "source_input": ["INPUT0"]}
            ]
        m.config["dynamic_batching"] = {}
        return {p + "m": m}, p + "m"

    def warmup(self, p):
        r = self.rng
        mbs = r.choice([0, 4, 8])
        m = self.python(p + "m", max_batch_size=mbs, inputs=1)
        t = m.config["input"][0]
        t["dims"] = [4]
        data = r.choice(["zero_data", "random_data", "input_data_file"])
        entry = {"data_type": t["data_type"], "dims": [4]}
        if data == "input_data_file":
            entry["input_data_file"] = "raw_in"
            batch = max(mbs, 1)
            if t["data_type"] == "TYPE_STRING":
                content = b"".join(
                    len(b"abc").to_bytes(4, "little") + b"abc" for _ in range(4 * r.choice([1, 1, batch]))
                )
            else:
                size = {"TYPE_FP16": 2, "TYPE_INT32": 4, "TYPE_FP32": 4, "TYPE_INT64": 8, "TYPE_FP64": 8}.get(
                    t["data_type"], 1
                )
                content = b"\x00" * (4 * size * r.choice([1, 1, batch]))
            m.files["warmup/raw_in"] = content if r.random() < 0.8 else b"\x00" * r.choice([3, 256])
        else:
            entry[data] = True
        warm = {"name": "w1", "batch_size": r.choice([1, max(mbs, 1)]), "inputs": [{"key": "INPUT0", "value": entry}]}
        if r.random() < 0.4:
            warm["count"] = r.choice([1, 3])
        m.config["model_warmup"] = [warm]
        return {p + "m": m}, p + "m"

    def version_policy(self, p):
        r = self.rng
        m = self.python(p + "m")
        versions = sorted(r.sample([1, 2, 3, 7], k=r.randrange(1, 4)))
        m.files = {f"{v}/model.py": MODEL_PY for v in versions}
        which = r.choice(["latest", "all", "specific", None])
        if which == "latest":
            m.config["version_policy"] = {"latest": {"num_versions": r.randrange(1, len(versions) + 1)}}
        elif which == "all":
            m.config["version_policy"] = {"all": {}}
        elif which == "specific":
            m.config["version_policy"] = {
                "specific": {"versions": r.sample(versions, k=r.randrange(1, len(versions) + 1))}
            }
        return {p + "m": m}, p + "m"

    def transaction_policy(self, p):
        r = self.rng
        m = self.python(p + "m")
        m.config["model_transaction_policy"] = {"decoupled": r.choice([True, False])}
        if r.random() < 0.3 and m.config["max_batch_size"]:
            m.config["dynamic_batching"] = {}
        if r.random() < 0.3:  # a decoupled member in an ensemble
            m.config["model_transaction_policy"] = {"decoupled": True}
            mbs = m.config["max_batch_size"]
            t_in, t_out = m.config["input"][0], m.config["output"][0]
            ens = {
                "name": p + "e",
                "platform": "ensemble",
                "max_batch_size": mbs,
                "input": [dict(copy.deepcopy(t_in), name="E_IN")],
                "output": [dict(copy.deepcopy(t_out), name="E_OUT")],
                "ensemble_scheduling": {
                    "step": [
                        {
                            "model_name": p + "m",
                            "model_version": -1,
                            "input_map": [{"key": t_in["name"], "value": "E_IN"}],
                            "output_map": [{"key": t_out["name"], "value": "E_OUT"}],
                        }
                    ]
                },
            }
            return {p + "m": m, p + "e": Model(ens, {"1/": b""})}, r.choice([p + "m", p + "e"])
        return {p + "m": m}, p + "m"

    def response_cache(self, p):
        r = self.rng
        m = self.python(p + "m")
        m.config["response_cache"] = {"enable": r.choice([True, False])}
        if r.random() < 0.3 and m.config["max_batch_size"]:
            m.config["dynamic_batching"] = {}
        return {p + "m": m}, p + "m"

    def optimization(self, p):
        r = self.rng
        m = self.python(p + "m")
        opt = {}
        if r.random() < 0.5:
            opt["priority"] = Enum(r.choice(["PRIORITY_DEFAULT", "PRIORITY_MAX", "PRIORITY_MIN"]))
        if r.random() < 0.4:
            opt["input_pinned_memory"] = {"enable": r.choice([True, False])}
        if r.random() < 0.4:
            opt["output_pinned_memory"] = {"enable": r.choice([True, False])}
        if r.random() < 0.3:
            opt["gather_kernel_buffer_threshold"] = r.choice([0, 16])
        if r.random() < 0.3:
            opt["eager_batching"] = r.choice([True, False])
        if r.random() < 0.2:
            opt["execution_accelerators"] = {"cpu_execution_accelerator": [{"name": "openvino"}]}
        m.config["optimization"] = opt
        return {p + "m": m}, p + "m"

    def backend_files(self, p):
        r = self.rng
        which = r.choice(["vllm", "tensorrtllm"])
        if which == "vllm":
            config = {"name": p + "m", "backend": "vllm", "max_batch_size": 0}
            config["input"] = [{"name": "text_input", "data_type": Enum("TYPE_STRING"), "dims": [1]}]
            config["output"] = [{"name": "text_output", "data_type": Enum("TYPE_STRING"), "dims": [-1]}]
            config["model_transaction_policy"] = {"decoupled": True}
            config["instance_group"] = [{"kind": Enum("KIND_MODEL"), "count": 1}]
            files = {"1/model.json": json.dumps({"model": "facebook/opt-125m", "gpu_memory_utilization": 0.5}).encode()}
        else:
            config = {"name": p + "m", "backend": "tensorrtllm", "max_batch_size": 8}
            config["input"] = [{"name": "input_ids", "data_type": Enum("TYPE_INT32"), "dims": [-1]}]
            config["output"] = [{"name": "output_ids", "data_type": Enum("TYPE_INT32"), "dims": [-1, -1]}]
            config["model_transaction_policy"] = {"decoupled": r.choice([True, False])}
            config["parameters"] = [
                {"key": "gpt_model_path", "value": {"string_value": f"/models/{p}m/1"}},
                {"key": "batching_strategy", "value": {"string_value": "inflight_fused_batching"}},
            ]
            files = {"1/config.json": b"{}", "1/rank0.engine": b"\x00"}
        return {p + "m": Model(config, files)}, p + "m"


# -- mutations --------------------------------------------------------------------------------------------------------
def _descriptor_for(path):
    """The protobuf field descriptor at a dict path (keys and list indexes), or None."""
    desc = pb2.ModelConfig.DESCRIPTOR
    fdesc = None
    for step in path:
        if isinstance(step, int):
            continue
        if desc is None or step not in desc.fields_by_name:
            return None
        fdesc = desc.fields_by_name[step]
        desc = fdesc.message_type
    return fdesc


def _paths(obj, prefix=()):
    """Every (path, value) under a config dict."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield (*prefix, k), v
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            if isinstance(v, (dict, list)):
                yield from _paths(v, (*prefix, i))


def _get(obj, path):
    for step in path:
        obj = obj[step]
    return obj


def _set(obj, path, value):
    for step in path[:-1]:
        obj = obj[step]
    obj[path[-1]] = value


def _delete(obj, path):
    for step in path[:-1]:
        obj = obj[step]
    del obj[path[-1]]


INT_TYPES = {3, 4, 5, 13, 16, 17, 18}  # int64, uint64, int32, uint32, sfixed/sint
UNSIGNED = {4, 13}


class Mutator:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def pick(self, config, want):
        """A random (path, descriptor) of the config whose descriptor satisfies want(fdesc, value)."""
        options = [(p, v) for p, v in _paths(config) if (fd := _descriptor_for(p)) is not None and want(fd, v, p)]
        if not options:
            return None, None
        path = self.rng.choice(options)[0]
        return path, _descriptor_for(path)

    def missing(self, config):
        path, _ = self.pick(config, lambda fd, v, p: p != ("name",) or self.rng.random() < 0.3)
        if path is None:
            return None
        _delete(config, path)
        return "missing " + ".".join(str(s) for s in path if not isinstance(s, int))

    def duplicated(self, config):
        path, fd = self.pick(config, lambda fd, v, p: True)
        if path is None:
            return None
        value = _get(config, path)
        if isinstance(value, list) and value:
            value.append(copy.deepcopy(self.rng.choice(value)))
            return "duplicated element of " + _dotted(path)
        if not _repeated(fd) and not isinstance(value, (dict, list)):
            _set(config, path, Twice(value))
            return "field written twice: " + _dotted(path)
        if isinstance(value, dict):
            parent = _get(config, path[:-1])
            # a message written twice: text format merges it (repeated sub-fields append, scalars error)
            parent[path[-1]] = value
            return None
        return None

    def out_of_range(self, config):
        path, fd = self.pick(
            config,
            lambda fd, v, p: fd.type in INT_TYPES or fd.type in (1, 2),  # integers and floats
        )
        if path is None:
            return None
        value = _get(config, path)
        choices = [-1, 0, -7, 2**31 - 1, 2**31, 2**32 + 5, 2**63, 10**6]
        if fd.name == "count" or "model_warmup" in path or "model_warmup" in config:
            # each instance is a process and warmup allocates its samples: no huge value that would still parse
            limit = 2**31 if fd.type in (5, 17) else 2**32 if fd.type == 13 else 2**63
            choices = [c for c in choices if c <= 16 or c >= limit]
        new = self.rng.choice(choices)
        if isinstance(value, list):
            if value:
                value[self.rng.randrange(len(value))] = new
            else:
                value.append(new)
        else:
            _set(config, path, new)
        return f"out of range {_dotted(path)} = {new}"

    def wrong_type(self, config):
        path, fd = self.pick(config, lambda fd, v, p: True)
        if path is None:
            return None
        value = _get(config, path)
        if fd.type == 11:  # message
            new = Raw(self.rng.choice(["3", '"x"', "true"]))
            kind = "scalar for message"
        elif fd.type == 9:
            new = Raw(self.rng.choice(["12", "true", "TYPE_FP32"]))
            kind = "non-string for string"
        elif fd.type == 8:
            new = Raw(self.rng.choice(['"yes"', "2", "1.0"]))
            kind = "non-bool for bool"
        elif fd.type == 14:
            new = Raw(self.rng.choice([f'"{value}"' if isinstance(value, str) else '"x"', "1.5"]))
            kind = "string for enum"
        else:
            new = Raw(self.rng.choice(['"4"', "1.5", "true", "1e3"]))
            kind = "non-integer for integer"
        if isinstance(value, list) and fd.type != 11:
            if value:
                value[self.rng.randrange(len(value))] = new
            else:
                value.append(new)
        elif isinstance(value, list):
            return None  # a repeated message: its elements are the messages to hit
        else:
            _set(config, path, new)
        return f"{kind} at {_dotted(path)}"

    def wrong_enum(self, config):
        path, fd = self.pick(config, lambda fd, v, p: fd.type == 14)
        if path is None:
            return None
        other = [v.name for e in pb2.DESCRIPTOR.enum_types_by_name.values() for v in e.values]
        for msg in pb2.DESCRIPTOR.message_types_by_name.values():
            for e in msg.enum_types:
                other.extend(v.name for v in e.values)
        known = [v.name for v in fd.enum_type.values]
        choice = self.rng.random()
        if choice < 0.4:
            new = Enum(self.rng.choice([n for n in other if n not in known]))
            kind = "symbol of another enum"
        elif choice < 0.6:
            new = Enum(self.rng.choice(known) + "X")
            kind = "unknown symbol"
        elif choice < 0.8:
            new = Raw(str(self.rng.choice([99, -1, len(known) + 3])))
            kind = "number outside the enum"
        else:
            new = Raw(str(self.rng.randrange(len(known))))
            kind = "number inside the enum"
        value = _get(config, path)
        if isinstance(value, list):
            value.append(new)
        else:
            _set(config, path, new)
        return f"{kind} at {_dotted(path)}"

    def name_mismatch(self, config):
        name = config.get("name", "m")
        new = self.rng.choice([str(name) + "_x", str(name).upper(), "", " " + str(name), str(name) + "/"])
        config["name"] = new
        return f"name {new!r} for folder {name!r}"

    def broken_syntax(self, text):
        r = self.rng
        choice = r.randrange(8)
        if choice == 0 and "}" in text:
            i = r.choice([i for i, c in enumerate(text) if c == "}"])
            return text[:i] + text[i + 1 :], "a closing brace missing"
        if choice == 1 and "]" in text:
            i = r.choice([i for i, c in enumerate(text) if c == "]"])
            return text[:i] + text[i + 1 :], "a closing bracket missing"
        if choice == 2 and '"' in text:
            i = r.choice([i for i, c in enumerate(text) if c == '"'])
            return text[:i] + text[i + 1 :], "an unbalanced quote"
        if choice == 3:
            i = r.randrange(1, len(text))
            return text[:i], "truncated"
        if choice == 4 and ":" in text:
            i = r.choice([i for i, c in enumerate(text) if c == ":"])
            return text[:i] + "=" + text[i + 1 :], "'=' for ':'"
        if choice == 5:
            lines = text.split("\n")
            i = r.randrange(len(lines) + 1)
            lines.insert(i, r.choice(["@", "}", "{", "input [", "name:", "max_batch_size: 4 4"]))
            return "\n".join(lines), "a stray token"
        if choice == 6:
            return text + "\n}", "an extra closing brace"
        return text.replace("{", "(", 1), "'(' for '{'"


def _repeated(fd) -> bool:
    return fd.is_repeated if hasattr(type(fd), "is_repeated") else fd.label == fd.LABEL_REPEATED


def _dotted(path):
    return ".".join(str(s) for s in path if not isinstance(s, int))


# -- contradictory mutations per area (the semantic rules) ------------------------------------------------------------
def contradict(area, models, target, rng):
    """Mutate the case's models so that two settings contradict each other; returns (what, risky) or None."""
    m = models[target].config
    r = rng
    if area == "dynamic_batching":
        db = m.setdefault("dynamic_batching", {})
        options = [
            (
                "preferred_batch_size above max_batch_size",
                lambda: db.__setitem__("preferred_batch_size", [m["max_batch_size"] * 2]),
            ),
            ("dynamic batching with max_batch_size 0", lambda: m.__setitem__("max_batch_size", 0)),
            (
                "default_priority_level above priority_levels",
                lambda: db.update(priority_levels=2, default_priority_level=3),
            ),
            (
                "default_priority_level 0 with priority levels",
                lambda: db.update(priority_levels=2, default_priority_level=0),
            ),
            (
                "priority levels without a default level",
                lambda: (db.update(priority_levels=2), db.pop("default_priority_level", None)),
            ),
            (
                "priority_queue_policy for a level above priority_levels",
                lambda: db.update(
                    priority_levels=1,
                    default_priority_level=1,
                    priority_queue_policy=[{"key": 5, "value": {"max_queue_size": 4}}],
                ),
            ),
            (
                "priority_queue_policy without priority levels",
                lambda: (
                    db.pop("priority_levels", None),
                    db.pop("default_priority_level", None),
                    db.__setitem__("priority_queue_policy", [{"key": 1, "value": {}}]),
                ),
            ),
            ("preferred_batch_size 0", lambda: db.__setitem__("preferred_batch_size", [0])),
            ("preferred_batch_size negative", lambda: db.__setitem__("preferred_batch_size", [-4])),
            ("dynamic and sequence batching together", lambda: m.__setitem__("sequence_batching", {})),
        ]
    elif area == "sequence_batching":
        sb = m.setdefault("sequence_batching", {})
        options = [
            ("sequence and dynamic batching together", lambda: m.__setitem__("dynamic_batching", {})),
            (
                "two controls of one kind",
                lambda: sb.__setitem__(
                    "control_input",
                    [
                        {
                            "name": "A",
                            "control": [{"kind": Enum("CONTROL_SEQUENCE_START"), "int32_false_true": [0, 1]}],
                        },
                        {
                            "name": "B",
                            "control": [{"kind": Enum("CONTROL_SEQUENCE_START"), "int32_false_true": [0, 1]}],
                        },
                    ],
                ),
            ),
            (
                "control with one false/true value",
                lambda: sb.__setitem__(
                    "control_input",
                    [{"name": "A", "control": [{"kind": Enum("CONTROL_SEQUENCE_READY"), "int32_false_true": [1]}]}],
                ),
            ),
            (
                "control with two false/true forms",
                lambda: sb.__setitem__(
                    "control_input",
                    [
                        {
                            "name": "A",
                            "control": [
                                {
                                    "kind": Enum("CONTROL_SEQUENCE_END"),
                                    "int32_false_true": [0, 1],
                                    "fp32_false_true": [0, 1],
                                }
                            ],
                        }
                    ],
                ),
            ),
            (
                "start control without false/true",
                lambda: sb.__setitem__(
                    "control_input", [{"name": "A", "control": [{"kind": Enum("CONTROL_SEQUENCE_START")}]}]
                ),
            ),
            (
                "corrid control of a float type",
                lambda: sb.__setitem__(
                    "control_input",
                    [
                        {
                            "name": "C",
                            "control": [{"kind": Enum("CONTROL_SEQUENCE_CORRID"), "data_type": Enum("TYPE_FP32")}],
                        }
                    ],
                ),
            ),
            (
                "corrid control without a data type",
                lambda: sb.__setitem__(
                    "control_input", [{"name": "C", "control": [{"kind": Enum("CONTROL_SEQUENCE_CORRID")}]}]
                ),
            ),
            (
                "control input named like a model input",
                lambda: sb.__setitem__(
                    "control_input",
                    [
                        {
                            "name": "INPUT0",
                            "control": [{"kind": Enum("CONTROL_SEQUENCE_START"), "int32_false_true": [0, 1]}],
                        }
                    ],
                ),
            ),
            ("control input with no control", lambda: sb.__setitem__("control_input", [{"name": "A", "control": []}])),
            (
                "control input with two controls",
                lambda: sb.__setitem__(
                    "control_input",
                    [
                        {
                            "name": "A",
                            "control": [
                                {"kind": Enum("CONTROL_SEQUENCE_START"), "int32_false_true": [0, 1]},
                                {"kind": Enum("CONTROL_SEQUENCE_END"), "int32_false_true": [0, 1]},
                            ],
                        }
                    ],
                ),
            ),
            (
                "state input named like a model input",
                lambda: sb.__setitem__(
                    "state",
                    [{"input_name": "INPUT0", "output_name": "S_OUT", "data_type": Enum("TYPE_FP32"), "dims": [1]}],
                ),
            ),
            (
                "state without dims",
                lambda: sb.__setitem__(
                    "state", [{"input_name": "S_IN", "output_name": "S_OUT", "data_type": Enum("TYPE_FP32")}]
                ),
            ),
            (
                "state without data type",
                lambda: sb.__setitem__("state", [{"input_name": "S_IN", "output_name": "S_OUT", "dims": [1]}]),
            ),
            (
                "state without output name",
                lambda: sb.__setitem__("state", [{"input_name": "S_IN", "data_type": Enum("TYPE_FP32"), "dims": [1]}]),
            ),
            (
                "initial_state with no data",
                lambda: sb.__setitem__(
                    "state",
                    [
                        {
                            "input_name": "S_IN",
                            "output_name": "S_OUT",
                            "data_type": Enum("TYPE_FP32"),
                            "dims": [4],
                            "initial_state": [{"name": "i", "data_type": Enum("TYPE_FP32"), "dims": [4]}],
                        }
                    ],
                ),
            ),
            (
                "initial_state dims unlike the state's",
                lambda: sb.__setitem__(
                    "state",
                    [
                        {
                            "input_name": "S_IN",
                            "output_name": "S_OUT",
                            "data_type": Enum("TYPE_FP32"),
                            "dims": [4],
                            "initial_state": [
                                {"name": "i", "data_type": Enum("TYPE_FP32"), "dims": [3], "zero_data": True}
                            ],
                        }
                    ],
                ),
            ),
            (
                "oldest with preferred batch above max_batch_size",
                lambda: (
                    m.__setitem__("max_batch_size", 4),
                    sb.pop("direct", None),
                    sb.__setitem__("oldest", {"max_candidate_sequences": 4, "preferred_batch_size": [16]}),
                ),
            ),
            (
                "oldest with zero candidate sequences",
                lambda: (sb.pop("direct", None), sb.__setitem__("oldest", {"max_candidate_sequences": 0})),
            ),
            (
                "direct and oldest together",
                lambda: (sb.__setitem__("direct", {}), sb.__setitem__("oldest", {"max_candidate_sequences": 1})),
            ),
            ("iterative sequence without decoupled", lambda: sb.__setitem__("iterative_sequence", True)),
        ]
    elif area == "ensemble":
        steps = m.get("ensemble_scheduling", {}).get("step") if m.get("platform") == "ensemble" else None
        members = [n for n in models if n != target and models[n].config.get("platform") != "ensemble"]
        if steps is None:
            return None
        member = models[members[0]].config if members else None
        options = [
            ("step of a model that is not there", lambda: steps[0].__setitem__("model_name", target + "_nothere")),
            ("step of a version that is not there", lambda: steps[0].__setitem__("model_version", 9)),
            (
                "ensemble output no step produces",
                lambda: m["output"].append({"name": "NOBODY", "data_type": m["output"][0]["data_type"], "dims": [2]}),
            ),
            (
                "ensemble input no step reads",
                lambda: m["input"].append({"name": "UNUSED", "data_type": m["input"][0]["data_type"], "dims": [2]}),
            ),
            (
                "step input map key not an input of the model",
                lambda: steps[0]["input_map"][0].__setitem__("key", "NOT_AN_INPUT"),
            ),
            (
                "step output map key not an output of the model",
                lambda: steps[-1]["output_map"][0].__setitem__("key", "NOT_AN_OUTPUT"),
            ),
            ("two steps write one tensor", lambda: steps.append(copy.deepcopy(steps[-1]))),
            ("step reads a tensor nobody writes", lambda: steps[-1]["input_map"][0].__setitem__("value", "ghost")),
            (
                "ensemble max_batch_size above a member's",
                lambda: (
                    m.__setitem__("max_batch_size", 64) if m["max_batch_size"] else m.__setitem__("max_batch_size", 0)
                ),
            ),
            (
                "member max_batch_size 0 in a batching ensemble",
                lambda: member and member.__setitem__("max_batch_size", 0),
            ),
            (
                "dtype differs between member and ensemble",
                lambda: m["input"][0].__setitem__("data_type", Enum("TYPE_INT8")),
            ),
            ("shape differs between member and ensemble", lambda: m["output"][0].__setitem__("dims", [7, 7])),
            (
                "ensemble with instance groups",
                lambda: m.__setitem__("instance_group", [{"kind": Enum("KIND_CPU"), "count": 1}]),
            ),
            ("ensemble with dynamic batching", lambda: m.__setitem__("dynamic_batching", {})),
            ("ensemble without steps", lambda: m.__setitem__("ensemble_scheduling", {})),
            ("ensemble step on itself", lambda: steps[0].__setitem__("model_name", target)),
            (
                "member dtype differs from the tensor it reads",
                lambda: member and member["input"][0].__setitem__("data_type", Enum("TYPE_UINT8")),
            ),
            ("step with an empty output map", lambda: steps[0].__setitem__("output_map", [])),
            (
                "ensemble input fed into two inputs of one step",
                lambda: steps[0]["input_map"].append({"key": "IN2", "value": steps[0]["input_map"][0]["value"]}),
            ),
        ]
        if any(models[n].config.get("platform") == "ensemble" for n in models if n != target):
            inner = next(n for n in models if n != target and models[n].config.get("platform") == "ensemble")
            options.append(
                (
                    "nested ensembles that reach each other",
                    lambda: models[inner].config["ensemble_scheduling"]["step"][0].__setitem__("model_name", target),
                )
            )
    elif area == "instance_group":
        groups = m.setdefault("instance_group", [{"kind": Enum("KIND_CPU"), "count": 1}])
        options = [
            ("KIND_GPU on a node without GPUs", lambda: groups[0].__setitem__("kind", Enum("KIND_GPU"))),
            ("gpus on a KIND_CPU group", lambda: groups[0].update(kind=Enum("KIND_CPU"), gpus=[0])),
            ("count 0", lambda: groups[0].__setitem__("count", 0)),
            (
                "two groups with one name",
                lambda: groups.extend(
                    [dict(copy.deepcopy(groups[0]), name="same"), dict(copy.deepcopy(groups[0]), name="same")]
                ),
            ),
            (
                "rate limiter resource with count 0",
                lambda: groups[0].__setitem__("rate_limiter", {"resources": [{"name": "R", "count": 0}]}),
            ),
            (
                "rate limiter resource without a name",
                lambda: groups[0].__setitem__("rate_limiter", {"resources": [{"count": 1}]}),
            ),
            ("rate limiter priority 0", lambda: groups[0].__setitem__("rate_limiter", {"priority": 0})),
            (
                "secondary device on a CPU group",
                lambda: groups[0].__setitem__("secondary_devices", [{"kind": Enum("KIND_NVDLA"), "device_id": 0}]),
            ),
            ("every group passive", lambda: [g.__setitem__("passive", True) for g in groups]),
            ("KIND_MODEL with gpus", lambda: groups[0].update(kind=Enum("KIND_MODEL"), gpus=[0])),
            ("profile on a CPU group", lambda: groups[0].__setitem__("profile", ["0"])),
        ]
    elif area == "io":
        t = r.choice(m["input"] + m["output"])
        options = [
            ("empty dims", lambda: t.__setitem__("dims", [])),
            ("dim 0", lambda: t.__setitem__("dims", [0])),
            ("dim -2", lambda: t.__setitem__("dims", [-2, 4])),
            ("two inputs with one name", lambda: m["input"].append(copy.deepcopy(m["input"][0]))),
            ("two outputs with one name", lambda: m["output"].append(copy.deepcopy(m["output"][0]))),
            (
                "an input and an output with one name",
                lambda: m["output"].append(dict(copy.deepcopy(m["output"][0]), name=m["input"][0]["name"])),
            ),
            ("TYPE_INVALID", lambda: t.__setitem__("data_type", Enum("TYPE_INVALID"))),
            ("no data type", lambda: t.pop("data_type")),
            ("FORMAT_NHWC with two dims", lambda: m["input"][0].update(format=Enum("FORMAT_NHWC"), dims=[8, 8])),
            ("FORMAT_NCHW with -1 channels", lambda: m["input"][0].update(format=Enum("FORMAT_NCHW"), dims=[-1, 8, 8])),
            ("label file missing", lambda: m["output"][0].__setitem__("label_filename", "nolabels.txt")),
            ("no inputs", lambda: m.__setitem__("input", [])),
            ("no outputs", lambda: m.__setitem__("output", [])),
            ("tensor without a name", lambda: t.pop("name")),
            ("max_batch_size -1", lambda: m.__setitem__("max_batch_size", -1)),
            ("shape tensor on a python model", lambda: m["input"][0].__setitem__("is_shape_tensor", True)),
            (
                "ragged batch without batching",
                lambda: (m.__setitem__("max_batch_size", 0), m["input"][0].__setitem__("allow_ragged_batch", True)),
            ),
            ("non-linear format on an output", lambda: m["output"][0].__setitem__("is_non_linear_format_io", True)),
        ]
    elif area == "reshape":
        t = next((x for x in m["input"] + m["output"] if "reshape" in x), m["input"][0])
        options = [
            ("reshape with another element count", lambda: t.__setitem__("reshape", {"shape": [3, 5]})),
            ("reshape with -1 where dims are fixed", lambda: t.update(dims=[4], reshape={"shape": [-1, 2]})),
            ("reshape with two -1", lambda: t.update(dims=[-1, 4], reshape={"shape": [-1, -1]})),
            ("reshape of a variable dim to a fixed shape", lambda: t.update(dims=[-1], reshape={"shape": [4]})),
            ("empty reshape of a tensor of 4 elements", lambda: t.update(dims=[4], reshape={"shape": []})),
            ("reshape with a 0", lambda: t.update(dims=[4], reshape={"shape": [0, 4]})),
            ("reshape on a shape tensor", lambda: t.update(is_shape_tensor=True, dims=[2], reshape={"shape": [2]})),
        ]
    elif area == "optional_inputs":
        options = [
            ("optional output", lambda: m["output"][0].__setitem__("optional", True)),
            ("every input optional", lambda: [t.__setitem__("optional", True) for t in m["input"]]),
            ("optional input in a sequence model", lambda: m.__setitem__("sequence_batching", {})),
            (
                "optional input also a batch input target",
                lambda: (
                    m.__setitem__("max_batch_size", 4),
                    m.__setitem__(
                        "batch_input",
                        [
                            {
                                "kind": Enum("BATCH_ELEMENT_COUNT"),
                                "target_name": [m["input"][0]["name"]],
                                "data_type": Enum("TYPE_INT32"),
                                "source_input": [m["input"][1]["name"]],
                            }
                        ],
                    ),
                ),
            ),
        ]
    elif area == "batch_io":
        bi = m["batch_input"][0]
        options = [
            ("batch input from an unknown source", lambda: bi.__setitem__("source_input", ["NOPE"])),
            ("batch input target that is a model input", lambda: bi.__setitem__("target_name", ["INPUT0"])),
            ("batch input of TYPE_INT64", lambda: bi.__setitem__("data_type", Enum("TYPE_INT64"))),
            ("batch input without a source", lambda: bi.__setitem__("source_input", [])),
            ("batch input with two sources", lambda: bi.__setitem__("source_input", ["INPUT0", "INPUT0"])),
            ("batch input with two targets", lambda: bi.__setitem__("target_name", ["BI0", "BI1"])),
            ("batch inputs with max_batch_size 0", lambda: m.__setitem__("max_batch_size", 0)),
            (
                "batch output of an unknown target",
                lambda: m.__setitem__(
                    "batch_output",
                    [
                        {
                            "target_name": ["NOPE"],
                            "kind": Enum("BATCH_SCATTER_WITH_INPUT_SHAPE"),
                            "source_input": ["INPUT0"],
                        }
                    ],
                ),
            ),
            (
                "batch output from an unknown source",
                lambda: m.__setitem__(
                    "batch_output",
                    [
                        {
                            "target_name": ["OUTPUT0"],
                            "kind": Enum("BATCH_SCATTER_WITH_INPUT_SHAPE"),
                            "source_input": ["NOPE"],
                        }
                    ],
                ),
            ),
            (
                "batch output with two sources",
                lambda: m.__setitem__(
                    "batch_output",
                    [
                        {
                            "target_name": ["OUTPUT0"],
                            "kind": Enum("BATCH_SCATTER_WITH_INPUT_SHAPE"),
                            "source_input": ["INPUT0", "INPUT0"],
                        }
                    ],
                ),
            ),
            ("two batch inputs with one target", lambda: m["batch_input"].append(copy.deepcopy(bi))),
            ("batch input without a target", lambda: bi.__setitem__("target_name", [])),
        ]
    elif area == "warmup":
        w = m["model_warmup"][0]
        entry = w["inputs"][0]["value"]
        options = [
            (
                "warmup batch_size above max_batch_size",
                lambda: w.__setitem__("batch_size", max(m["max_batch_size"], 1) * 4),
            ),
            ("warmup for an input the model lacks", lambda: w["inputs"][0].__setitem__("key", "NOPE")),
            (
                "warmup without data",
                lambda: [entry.pop(k, None) for k in ("zero_data", "random_data", "input_data_file")],
            ),
            (
                "warmup data file missing",
                lambda: (
                    entry.pop("zero_data", None),
                    entry.pop("random_data", None),
                    entry.__setitem__("input_data_file", "nofile"),
                ),
            ),
            ("warmup dims unlike the input's", lambda: entry.__setitem__("dims", [7])),
            ("warmup data type unlike the input's", lambda: entry.__setitem__("data_type", Enum("TYPE_INT8"))),
            ("warmup batch_size 0", lambda: w.__setitem__("batch_size", 0)),
            ("warmup without a name", lambda: w.pop("name")),
            ("warmup without inputs", lambda: w.__setitem__("inputs", [])),
            ("warmup input dims with -1", lambda: entry.__setitem__("dims", [-1])),
        ]
    elif area == "version_policy":
        options = [
            (
                "specific version without a folder",
                lambda: m.__setitem__("version_policy", {"specific": {"versions": [42]}}),
            ),
            ("latest 0 versions", lambda: m.__setitem__("version_policy", {"latest": {"num_versions": 0}})),
            ("no version folder", lambda: setattr(models[target], "files", {"models/model.py": MODEL_PY})),
            ("version folder 0 only", lambda: setattr(models[target], "files", {"0/model.py": MODEL_PY})),
            ("version folder named v1", lambda: setattr(models[target], "files", {"v1/model.py": MODEL_PY})),
            ("version folder 01", lambda: setattr(models[target], "files", {"01/model.py": MODEL_PY})),
            (
                "version folder of a non-ASCII digit",
                lambda: setattr(models[target], "files", {"\u0661/model.py": MODEL_PY}),
            ),
            ("specific version 0", lambda: m.__setitem__("version_policy", {"specific": {"versions": [0]}})),
            ("specific version negative", lambda: m.__setitem__("version_policy", {"specific": {"versions": [-1]}})),
        ]
    elif area == "transaction_policy":
        options = [
            (
                "decoupled with sequence batching",
                lambda: (
                    m.__setitem__("model_transaction_policy", {"decoupled": True}),
                    m.__setitem__("sequence_batching", {}),
                ),
            ),
            (
                "decoupled with response cache",
                lambda: (
                    m.__setitem__("model_transaction_policy", {"decoupled": True}),
                    m.__setitem__("response_cache", {"enable": True}),
                ),
            ),
            (
                "decoupled ensemble",
                lambda: (
                    m.__setitem__("model_transaction_policy", {"decoupled": True})
                    if m.get("platform") == "ensemble"
                    else m.update(platform="ensemble", model_transaction_policy={"decoupled": True})
                ),
            ),
            (
                "decoupled with warmup",
                lambda: (
                    m.__setitem__("model_transaction_policy", {"decoupled": True}),
                    m.__setitem__(
                        "model_warmup",
                        [
                            {
                                "name": "w",
                                "batch_size": 1,
                                "inputs": [
                                    {
                                        "key": m["input"][0]["name"],
                                        "value": {
                                            "data_type": m["input"][0]["data_type"],
                                            "dims": [1],
                                            "zero_data": True,
                                        },
                                    }
                                ],
                            }
                        ],
                    ),
                ),
            ),
        ]
    elif area == "response_cache":
        options = [
            (
                "response cache on a decoupled model",
                lambda: (
                    m.__setitem__("response_cache", {"enable": True}),
                    m.__setitem__("model_transaction_policy", {"decoupled": True}),
                ),
            ),
            (
                "response cache with sequence batching",
                lambda: (m.__setitem__("response_cache", {"enable": True}), m.__setitem__("sequence_batching", {})),
            ),
            ("response cache on an ensemble of one", lambda: m.update(response_cache={"enable": True})),
        ]
    elif area == "optimization":
        opt = m.setdefault("optimization", {})
        options = [
            ("cuda graphs on a CPU model", lambda: opt.__setitem__("cuda", {"graphs": True})),
            (
                "gpu accelerator on a CPU model",
                lambda: opt.__setitem__(
                    "execution_accelerators", {"gpu_execution_accelerator": [{"name": "tensorrt"}]}
                ),
            ),
            ("graph level -1", lambda: opt.__setitem__("graph", {"level": -1})),
            (
                "both pinned memories off with eager batching",
                lambda: opt.update(
                    input_pinned_memory={"enable": False}, output_pinned_memory={"enable": False}, eager_batching=True
                ),
            ),
        ]
    elif area == "top_level":
        options = [
            ("platform and backend that disagree", lambda: m.__setitem__("platform", "tensorrt_plan")),
            ("unknown platform", lambda: (m.pop("backend", None), m.__setitem__("platform", "caffe2_netdef"))),
            ("no backend or platform", lambda: (m.pop("backend", None), m.pop("platform", None))),
            ("default_model_filename that is not there", lambda: m.__setitem__("default_model_filename", "other.file")),
            (
                "model repository agent that is not installed",
                lambda: m.__setitem__("model_repository_agents", {"agents": [{"name": "checksum"}]}),
            ),
            (
                "model_repository_agents without agents",
                lambda: m.__setitem__("model_repository_agents", {"agents": []}),
            ),
            ("runtime library that is not there", lambda: m.__setitem__("runtime", "libnothere.so")),
            (
                "parameters with an empty key",
                lambda: m.__setitem__("parameters", [{"key": "", "value": {"string_value": "x"}}]),
            ),
            ("max_batch_size negative", lambda: m.__setitem__("max_batch_size", -4)),
        ]
        if models[target].backend == "python":
            options = [o for o in options if o[0] not in ("default_model_filename that is not there",)]
    elif area == "backend_files":
        model = models[target]
        options = [
            ("vllm model.json that is not JSON", lambda: model.files.__setitem__("1/model.json", b"{model: x")),
            (
                "vllm model.json without model",
                lambda: model.files.__setitem__("1/model.json", b'{"gpu_memory_utilization": 0.5}'),
            ),
            (
                "vllm model.json with gpu_memory_utilization above 1",
                lambda: model.files.__setitem__("1/model.json", b'{"model": "m", "gpu_memory_utilization": 1.5}'),
            ),
            (
                "vllm without model.json",
                lambda: (model.files.pop("1/model.json", None), model.files.__setitem__("1/", b"")),
            ),
            ("vllm not decoupled", lambda: m.__setitem__("model_transaction_policy", {"decoupled": False})),
            (
                "tensorrtllm without gpt_model_path",
                lambda: m.__setitem__(
                    "parameters", [p for p in m.get("parameters", []) if p["key"] != "gpt_model_path"]
                ),
            ),
            (
                "tensorrtllm with an unknown batching strategy",
                lambda: m.__setitem__(
                    "parameters", [{"key": "batching_strategy", "value": {"string_value": "greedy"}}]
                ),
            ),
        ]
    else:
        return None
    what, action = r.choice(options)
    action()
    risky = what in RISKY
    return what, risky


# Mutations that crash or hang tritonserver 2.51 (triton-behaviour.md): judged in batches of their own.
RISKY = {
    "model_repository_agents without agents",
    "nested ensembles that reach each other",
    "ensemble step on itself",
    "warmup batch_size above max_batch_size",
    "initial_state with no data",
    "warmup without data",
    "no version folder",
}


def generate(count: int = 2400, seed: int = 20261204) -> list:
    """`count` cases, the same for the same seed. A quarter stays valid (varied seeds); the rest is mutated, spread
    evenly over the areas and mutation classes."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible generator, not a secret
    seeds = Seeds(rng)
    mutator = Mutator(rng)
    cases = []
    number = 0
    mutation_cycle = [mu for mu in MUTATIONS if mu != "none"]
    while len(cases) < count:
        area = AREAS[number % len(AREAS)]
        mutation = "none" if rng.random() < 0.22 else mutation_cycle[(number // len(AREAS)) % len(mutation_cycle)]
        prefix = f"c{number:05d}_"
        models, target = getattr(seeds, area)(prefix)
        what = "valid"
        risky = False
        model = models[target]
        if mutation == "contradictory":
            result = contradict(area, models, target, rng)
            if result is None:
                mutation = "missing"
            else:
                what, risky = result
        if mutation in ("missing", "duplicated", "out_of_range", "wrong_type", "wrong_enum", "name_mismatch"):
            found = getattr(mutator, mutation)(model.config)
            if found is None:
                number += 1
                continue
            what = found
        rendered = {}
        for name, mod in models.items():
            rendered[name] = render(mod.config, rng=rng) + "\n"
        if mutation == "broken_syntax":
            rendered[target], what = mutator.broken_syntax(rendered[target])
        for name, mod in models.items():
            mod.text = rendered[name]
        # a python model whose model file went missing hangs 2.51 at start-up (triton-behaviour.md)
        if model.backend == "python" and "default_model_filename" in what:
            risky = True
        _add_twin(models, target, prefix, mutation, what)
        case = Case(number, area, mutation, _generic(what), models, target, risky=risky)
        case.detail = what
        # what only the LLM backends read (their files, TensorRT-LLM's parameters): unit-tested, no server judges it
        case.outside_figure = area == "backend_files" and (mutation == "contradictory" or "parameters" in what)
        cases.append(case)
        number += 1
    return cases


def _add_twin(models: dict, target: str, prefix: str, mutation: str, what: str) -> None:
    """A model of a backend the lab lacks gets a python twin (same config, backend python): the lab's Triton judges
    the twin whole, so the twin tells whether the original's "backend missing" verdict came after every rule."""
    model = models[target]
    if model.backend in ("python", "ensemble") or mutation in ("broken_syntax", "name_mismatch"):
        return
    if "default_model_filename" in what:  # which files a backend needs is its own rule: no twin can stand in
        return
    config = copy.deepcopy(model.config)
    config.pop("platform", None)
    config["backend"] = "python"
    config["name"] = prefix + "twin"
    config.pop("default_model_filename", None)
    twin = Model(config, {"1/model.py": MODEL_PY})
    twin.text = render(config) + "\n"
    twin.twin_of = target
    models[prefix + "twin"] = twin


def _generic(what: str) -> str:
    """The descriptor of a typed mutation without its random value (so that known disagreements can name it)."""
    if what.startswith("out of range "):
        return what.rsplit(" = ", 1)[0] + (" = negative" if " = -" in what else " = non-negative")
    if what.startswith("name "):
        return "name differs from the folder"
    return what


def write_case(case: Case, repo) -> None:
    """Lay the case's models out under `repo` (a pathlib.Path)."""
    for name, model in case.models.items():
        folder = repo / name
        folder.mkdir(parents=True)
        (folder / "config.pbtxt").write_text(model.text)
        for rel, data in model.files.items():
            path = folder / rel
            if rel.endswith("/"):
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
