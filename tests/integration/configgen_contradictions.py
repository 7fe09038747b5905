"""The contradictory mutations per area (configgen.py), written from Triton's documentation: the semantic rules."""

from __future__ import annotations

import copy

from configgen_types import MODEL_PY, Enum


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
