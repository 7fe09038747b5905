"""The fast paths must never change a verdict: fast_parse() may only accept what text_format.Parse() accepts, building
an equal message, and config_to_dict() must equal json_format.MessageToDict(preserving_proto_field_name=True)."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from ansible_collections.gpufleet.triton.plugins.module_utils import _model_config as mc
from ansible_collections.gpufleet.triton.plugins.module_utils._textproto import fast_parse
from google.protobuf import json_format, text_format

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
CORPUS_TEXTS = sorted(
    (str(p.relative_to(CORPUS)), p.read_bytes().decode("utf-8", "replace")) for p in CORPUS.rglob("config.pbtxt")
)
pb2 = mc.load_schema()[0]

# Written to cover what the corpus has little of: maps (string and uint64 keys, message values), floats and doubles,
# oneofs, '<>' brackets, ';' and ',' separators, empty lists, comments, single quotes, CRLF and tabs.
RICH = """# a comment
name: 'rich' ; backend: "python",
max_batch_size: 16
input [ { name: "IN" data_type: TYPE_FP32 format: FORMAT_NONE dims: [ -1, 3 ] reshape { shape: [ 3, -1 ] } } ]
input < name: "LEN" data_type: TYPE_INT32 dims: 1 dims: [] allow_ragged_batch: true optional: f >
output: [ { name: "OUT" data_type: TYPE_STRING dims: [ 1 ] label_filename: "labels.txt" } ]
version_policy: { specific { versions: [ 1, 3 ] } }
parameters { key: "k1" value { string_value: "v1" } }
parameters: { key: 'k2', value: { string_value: "" } }
parameters { key: "k1" value { string_value: "v1 again" } }\r
dynamic_batching {
\tpreferred_batch_size: [ 4, 8 ] max_queue_delay_microseconds: 100
  priority_levels: 2 default_priority_level: 1
  default_queue_policy { timeout_action: DELAY default_timeout_microseconds: 18446744073709551615 }
  priority_queue_policy { key: 2 value { max_queue_size: 3 allow_timeout_override: True } }
  priority_queue_policy [ { key: 1 value { } } ]
}
instance_group [ { kind: KIND_CPU count: 2 }, { kind: KIND_GPU gpus: [ 0, 1 ] } ]
model_warmup [ { name: "w" batch_size: 1
  inputs { key: "IN" value { data_type: TYPE_FP32 dims: [ 3 ] zero_data: true } } } ]
model_metrics { metric_control [ { metric_identifier { family: "f" }
  histogram_options { buckets: [ 0.5, 1, 2.5e3, -.25 ] } } ] }
optimization { priority: PRIORITY_MAX input_pinned_memory { enable: false } }
response_cache { enable: t }
"""
SEQUENCE = """name: "seq"
backend: "python"
max_batch_size: 4
sequence_batching {
  max_sequence_idle_microseconds: 5000000
  direct { max_queue_delay_microseconds: 10 minimum_slot_utilization: 0.1 }
  control_input [
    { name: "START" control [ { kind: CONTROL_SEQUENCE_START fp32_false_true: [ 0, 1.5 ] } ] },
    { name: "CORRID" control { kind: CONTROL_SEQUENCE_CORRID data_type: TYPE_UINT64 } }
  ]
  state [ { input_name: "IN_S" output_name: "OUT_S" data_type: TYPE_FP32 dims: [ -1 ]
            initial_state { data_type: TYPE_FP32 dims: [ 1 ] zero_data: true name: "init" } } ]
}
"""
ENSEMBLE = """name: "ens"
platform: "ensemble"
ensemble_scheduling { step [
  { model_name: "a" model_version: -1 input_map { key: "x" value: "IN" } output_map { key: "y" value: "T" } },
  { model_name: "b" model_version: 2 input_map [ { key: "x" value: "T" } ] output_map { key: "y", value: "OUT" } }
] }
"""
# Texts text_format treats in ways fast_parse leaves to it (each either accepted by both or refused by fast_parse).
TRICKY = [
    "max_batch_size: 0 max_batch_size: 4",  # Python's Parse accepts this (the first value is the default)
    "max_batch_size: 4 max_batch_size: 4",
    "max_batch_size: 0x10",
    "max_batch_size: 010",
    "max_batch_size: 1_0",
    "max_batch_size: -0",
    "max_batch_size: 2147483648",
    "max_batch_size: -2147483649",
    'backend: "py" "thon"',
    'backend: "py\\x74hon"',
    'backend: "pyth\\"on"',
    'backend: "unterminated\nmax_batch_size: 1',
    "backend: 'mixed\"",
    'name: "caf\u00e9"',
    'name: "a"\x0cmax_batch_size: 1',
    'input [ { name: "A" data_type: 11 dims: [ 1 ] } ]',
    'input [ { name: "A" data_type: TYPE_FP32 dims: [ 1, ] } ]',
    'input [ { name: "A" data_type: TYPE_FP32 dims: [ 1 2 ] } ]',
    'input { name: "A" } input [ ]',
    "input: [ ]",
    "dynamic_batching { } sequence_batching { }",
    "dynamic_batching { } dynamic_batching { }",
    "version_policy { latest { } all { } }",
    "version_policy { latest { num_versions: 2 } }",
    "dynamic_batching { preserve_ordering: 1 }",
    "dynamic_batching { preserve_ordering: yes }",
    "sequence_batching { direct { minimum_slot_utilization: 1.0f } }",
    "sequence_batching { direct { minimum_slot_utilization: inf } }",
    "sequence_batching { direct { minimum_slot_utilization: 1e999 } }",
    "sequence_batching { direct { minimum_slot_utilization: 01.5 } }",
    "sequence_batching { direct { minimum_slot_utilization: 5. } }",
    'parameters { key: "a" key: "b" }',
    'parameters { value { string_value: "no key" } }',
    'parameters { key: "a" value < string_value: "x" > }',
    "[inference.foo]: 1",
    'name: "x"\n}',
    "dynamic_batching {",
    "dynamic_batching { max_queue_delay_microseconds: 1 >",
    'name: "x";;',
    'name: "x",;',
    'name "x"',
    "dynamic_batching: { }",
    "instance_group [ { kind: KIND_CPU } { kind: KIND_CPU } ]",
    "",
    "   \n# only a comment\n",
]


def _same_message(text: str) -> bool:
    """Check the contract on one text; returns whether fast_parse accepted it."""
    fast = pb2.ModelConfig()
    accepted = fast_parse(text, fast)
    slow = pb2.ModelConfig()
    try:
        text_format.Parse(text, slow)
    except Exception:  # ParseError, or ValueError for an enum number out of range
        assert not accepted, f"fast_parse accepted what text_format refuses: {text!r}"
        return False
    if accepted:
        assert fast == slow, text
        assert fast.SerializeToString(deterministic=True) == slow.SerializeToString(deterministic=True), text
        assert text_format.MessageToString(fast) == text_format.MessageToString(slow), text
        _same_dict(slow)
    return accepted


def _same_dict(message) -> None:
    expected = json_format.MessageToDict(message, preserving_proto_field_name=True)
    got = mc.config_to_dict(message)
    # json.dumps tells 1 from 1.0 and True from 1, and keeps the key order.
    assert json.dumps(got) == json.dumps(expected)


@pytest.mark.parametrize("name,text", CORPUS_TEXTS, ids=[n for n, _ in CORPUS_TEXTS])
def test_corpus_config(name, text):
    _same_message(text)


def test_fast_path_takes_plain_configs():
    """The speed-up is real: every corpus config text_format accepts is plain enough for fast_parse."""
    accepted = valid = 0
    for _name, text in CORPUS_TEXTS:
        try:
            text_format.Parse(text, pb2.ModelConfig())
        except Exception:  # noqa: S112 - a broken config: not counted
            continue
        if re.search(r"\b(kind|data_type|format): *[0-9]", text):
            continue  # an enum given by number: left to text_format on purpose
        valid += 1
        accepted += fast_parse(text, pb2.ModelConfig())
    assert valid > 50 and accepted == valid


@pytest.mark.parametrize("text", [RICH, SEQUENCE, ENSEMBLE], ids=["rich", "sequence", "ensemble"])
def test_rich_configs(text):
    assert _same_message(text), "fast_parse should take this plain text"


@pytest.mark.parametrize("text", TRICKY)
def test_tricky(text):
    _same_message(text)


def test_tricky_cases_fall_back():
    for text in ('backend: "py" "thon"', "max_batch_size: 0x10", "max_batch_size: 0 max_batch_size: 4"):
        assert not fast_parse(text, pb2.ModelConfig())


POOL = (
    "{ } [ ] < > : , ; \" ' # \n \t \\ - 0 1 -1 2 08 0x10 1e3 1.5 .5 5. 9999999999 99999999999999999999 true false t f "
    'True 1.0f inf nan "x" "a\\"b" \'y\' TYPE_FP32 TYPE_INT64 TYPE_BOOL KIND_GPU KIND_CPU name dims input output '
    "max_batch_size backend platform version_policy latest all specific versions num_versions dynamic_batching "
    "sequence_batching ensemble_scheduling step model_name parameters key value string_value input_map output_map "
    "priority_queue_policy priority_levels default_queue_policy preserve_ordering preferred_batch_size data_type "
    "reshape shape instance_group count gpus kind [ext.x] foo \u00e9 \r"
).split(" ")


def _mutate(rng: random.Random, text: str) -> str:
    pieces = text.replace("\n", " \n ").split(" ")
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(6)
        i = rng.randrange(len(pieces) + 1)
        if op == 0 and pieces:
            del pieces[min(i, len(pieces) - 1)]
        elif op == 1:
            pieces.insert(i, rng.choice(POOL))
        elif op == 2 and pieces:
            pieces[min(i, len(pieces) - 1)] = rng.choice(POOL)
        elif op == 3 and pieces:
            j = min(i, len(pieces) - 1)
            pieces.insert(j, pieces[j])
        elif op == 4 and len(pieces) > 1:
            j = min(i, len(pieces) - 2)
            pieces[j], pieces[j + 1] = pieces[j + 1], pieces[j]
        else:
            j = rng.randrange(len(text) + 1)
            return text[:j] + rng.choice(POOL) + text[j:]
    return " ".join(pieces).replace(" \n ", "\n")


def test_mutated_configs():
    """Seeded mutations of the corpus and the configs above: fast_parse accepts only what text_format accepts."""
    rng = random.Random(20251125)  # noqa: S311 - reproducible mutations, not cryptography
    seeds = [text for _name, text in CORPUS_TEXTS] + [RICH, SEQUENCE, ENSEMBLE]
    accepted = refused = 0
    for _ in range(2500):
        if _same_message(_mutate(rng, rng.choice(seeds))):
            accepted += 1
        else:
            refused += 1
    # Both sides of the contract were exercised.
    assert accepted > 300 and refused > 300, (accepted, refused)


def test_config_to_dict_special_values():
    cfg = pb2.ModelConfig()
    text_format.Parse(
        "sequence_batching { direct { minimum_slot_utilization: 0.1 } control_input [ { name: 'S' control [ "
        "{ kind: CONTROL_SEQUENCE_START fp32_false_true: [ inf, -inf, 0.3 ] } ] } ] } "
        "model_metrics { metric_control [ { histogram_options { buckets: [ nan, 0.1, -inf ] } } ] } "
        "parameters { key: 'p' value { string_value: 'v' } }",
        cfg,
    )
    cfg.input.add().data_type = 99  # an enum number without a name stays a number
    got = mc.config_to_dict(cfg)
    control = got["sequence_batching"]["control_input"][0]["control"][0]
    assert control["fp32_false_true"] == ["Infinity", "-Infinity", 0.3]
    assert got["model_metrics"]["metric_control"][0]["histogram_options"]["buckets"] == ["NaN", 0.1, "-Infinity"]
    assert got["input"][0]["data_type"] == 99
    assert got["parameters"] == {"p": {"string_value": "v"}}
    assert json.dumps(got) == json.dumps(json_format.MessageToDict(cfg, preserving_proto_field_name=True))
    batching = pb2.ModelDynamicBatching()
    text_format.Parse("priority_queue_policy { key: 18446744073709551615 value { max_queue_size: 1 } }", batching)
    got = mc.config_to_dict(batching)
    assert got == {"priority_queue_policy": {"18446744073709551615": {"max_queue_size": 1}}}
    assert json.dumps(got) == json.dumps(json_format.MessageToDict(batching, preserving_proto_field_name=True))
