"""libprotobuf-style positions and wording (values measured on tritonserver 2.51.0's stderr)."""

from __future__ import annotations

import pytest
from ansible_collections.gpufleet.triton.plugins.module_utils._model_config import parse_config_text
from ansible_collections.gpufleet.triton.plugins.module_utils._textproto import Locator, tokenize

# (config text, line, column, message) exactly as Triton 2.51 printed them.
MEASURED = [
    (
        'backend: "python"\nmax_batch_size: 8\nfoo_bar: 3\n',
        3,
        8,
        'Message type "inference.ModelConfig" has no field named "foo_bar".',
    ),
    (
        'backend: "python"\ninput [ { name: "A" data_tipe: TYPE_FP32 dims: [ 4 ] } ]\n',
        2,
        30,
        'Message type "inference.ModelInput" has no field named "data_tipe".',
    ),
    (
        'backend: "python"\ninput [ { name: "A" data_type: TYPE_FLOAT33 dims: [ 4 ] } ]\n',
        2,
        45,
        'Unknown enumeration value of "TYPE_FLOAT33" for field "data_type".',
    ),
    (
        'backend: "python"\ninstance_group [ { kind: KIND_TPU } ]\n',
        2,
        35,
        'Unknown enumeration value of "KIND_TPU" for field "kind".',
    ),
    ('backend: "python"\ninput [\n  { name: "A" data_type: TYPE_FP32 dims: [ 4 ] }\n', 4, 1, 'Expected ",", found "".'),
    ('backend "python"\n', 1, 9, 'Expected ":", found ""python"".'),
    ('backend: "python\nmax_batch_size: 8\n', 1, 17, "String literals cannot cross line boundaries."),
    ('backend: "python"\nmax_batch_size: "8"\n', 2, 17, 'Expected integer, got: "8"'),
    ('backend: "python"\nmax_batch_size: 99999999999\n', 2, 17, "Integer out of range (99999999999)"),
    (
        'backend: "python"\nmax_batch_size: 8\nmax_batch_size: 4\n',
        3,
        15,
        'Non-repeated field "max_batch_size" is specified multiple times.',
    ),
    ('backend: "python"\nmax_batch_size: 8.5\n', 2, 17, "Expected integer, got: 8.5"),
    (
        'backend: "python"\ninput [ { name: "A" data_type: TYPE_FP32 dims: [ 4, ] } ]\n',
        2,
        53,
        "Expected integer, got: ]",
    ),
    (
        'backend: "python"\ndynamic_batching { preserve_ordering: maybe }\n',
        2,
        45,
        'Invalid value for boolean field "preserve_ordering". Value: "maybe".',
    ),
    ('backend: "python"\ndynamic_batching {\n', 3, 1, "Expected identifier, got: "),
    ('backend: "python"\n}\n', 2, 1, "Expected identifier, got: }"),
    ('backend: "python"\nfoo_bar\n', 3, 1, 'Message type "inference.ModelConfig" has no field named "foo_bar".'),
    (
        'backend: "python"\nversion_policy { latest { num_versions: 1 } all { } }\n',
        2,
        49,
        'Field "all" is specified along with field "latest", another member of oneof "policy_choice".',
    ),
    (
        'backend: "python"\ndynamic_batching { }\ndynamic_batching { }\n',
        3,
        18,
        'Non-repeated field "dynamic_batching" is specified multiple times.',
    ),
    ('backend: "python"\nparameters { key: "a" value: { string_value: 3 } }\n', 2, 46, "Expected string, got: 3"),
    ('backend: "python"\nfoo:1\n', 2, 4, 'Message type "inference.ModelConfig" has no field named "foo".'),
    ('backend: "python"\n\tfoo_bar: 1\n', 2, 16, 'Message type "inference.ModelConfig" has no field named "foo_bar".'),
    (
        'backend: "python"\n# \u00e9\nname_x: "\u00e9"\n',
        3,
        7,
        'Message type "inference.ModelConfig" has no field named "name_x".',
    ),
    ('backend: "python"\nfoo { a: 1 }\n', 2, 5, 'Message type "inference.ModelConfig" has no field named "foo".'),
    (
        'backend: "python"\n[foo.bar]: 1\n',
        2,
        10,
        'Extension "foo.bar" is not defined or is not an extension of "inference.ModelConfig".',
    ),
    ('backend: "python"\ndynamic_batching { priority_levels: -1 }\n', 2, 37, "Expected integer, got: -"),
    (
        'backend: "python"\ninput [ { name: "A" data_type: TYPE_FP32 dims: [ 99999999999999999999 ] } ]\n',
        2,
        50,
        "Integer out of range (99999999999999999999)",
    ),
]

ACCEPTED = [
    'backend: "python";\nmax_batch_size: 8;\n',
    'backend: "python"\nmax_batch_size: 0x10\n',
    'backend: "python"\ninput [ { name: "A" data_type: 99 dims: [ 4 ] } ]\n',  # open enum: Triton accepts numbers
    'backend: "python"\ninput [ ]\n',
    "backend: 'python'\ninput < name: \"A\" data_type: TYPE_FP32 dims: 4 >\n",
]


@pytest.mark.parametrize("text,line,column,message", MEASURED)
def test_parse_error_like_libprotobuf(text, line, column, message):
    config, err = parse_config_text(text)
    assert config is None
    assert (err["line"], err["column"], err["message"]) == (line, column, message)


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepted_like_libprotobuf(text):
    config, err = parse_config_text(text)
    assert err is None and config is not None


def test_tokenizer_columns_expand_tabs_and_count_bytes():
    toks = tokenize('\ta\n\u00e9 b "x y" # c\n')
    assert [(t.text, t.line, t.cpp_col) for t in toks[:-1]] == [
        ("a", 0, 8),
        ("\u00e9", 1, 0),
        ("b", 1, 3),
        ('"x y"', 1, 5),
    ]
    assert toks[-1].kind == "eof" and toks[-1].line == 2


def test_locator_finds_nested_values():
    text = 'input [\n  { name: "A" dims: [ 1 ] },\n  { name: "B"\n    dims: [ 0 ] }\n]\n'
    loc = Locator(text)
    assert loc.find("input", '"B"', "dims") == (4, 5)
    assert loc.find("output") == (None, None)
