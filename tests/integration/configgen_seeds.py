"""Valid seed configurations per area of model_config.proto (configgen.py mutates them)."""

from __future__ import annotations

import copy
import json
import random

from configgen_types import DTYPES, MODEL_PY, OTHER_BACKENDS, Enum, Model


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
