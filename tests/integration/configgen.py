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
import random

from configgen_contradictions import contradict
from configgen_mutations import Mutator
from configgen_seeds import Seeds
from configgen_types import MODEL_PY, Case, Model, render

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
