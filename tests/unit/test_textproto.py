"""Parse errors of config.pbtxt: protobuf's text_format finds them; the module reports its line and column and names
the field Triton's libprotobuf names (Triton 2.51's own wording and column are not reproduced)."""

from __future__ import annotations

import pytest
from ansible_collections.gpufleet.triton.plugins.module_utils._model_config_parse import Locator, parse_config_text

# (config text, line, column, what the message must name). Triton 2.51 reports the same line for all but the two
# marked "eof", where libprotobuf points at the end of the text and text_format at the last token.
REJECTED = [
    ('backend: "python"\nmax_batch_size: 8\nfoo_bar: 3\n', 3, 1, '"foo_bar"'),
    ('backend: "python"\ninput [ { name: "A" data_tipe: TYPE_FP32 dims: [ 4 ] } ]\n', 2, 21, '"data_tipe"'),
    ('backend: "python"\ninput [ { name: "A" data_type: TYPE_FLOAT33 dims: [ 4 ] } ]\n', 2, 32, '"data_type"'),
    ('backend: "python"\ninstance_group [ { kind: KIND_TPU } ]\n', 2, 26, '"kind"'),
    ('backend: "python"\ninput [\n  { name: "A" data_type: TYPE_FP32 dims: [ 4 ] }\n', 4, 1, 'Expected ","'),
    ('backend "python"\n', 1, 9, 'Expected ":"'),
    ('backend: "python\nmax_batch_size: 8\n', 1, 10, '"backend"'),
    ('backend: "python"\nmax_batch_size: "8"\n', 2, 17, '"max_batch_size"'),
    ('backend: "python"\nmax_batch_size: 99999999999\n', 2, 17, '"max_batch_size"'),
    ('backend: "python"\nmax_batch_size: 8\nmax_batch_size: 4\n', 3, 17, '"max_batch_size"'),
    ('backend: "python"\nmax_batch_size: 8.5\n', 2, 17, '"max_batch_size"'),
    ('backend: "python"\ninput [ { name: "A" data_type: TYPE_FP32 dims: [ 4, ] } ]\n', 2, 53, '"dims"'),
    ('backend: "python"\ndynamic_batching { preserve_ordering: maybe }\n', 2, 39, '"preserve_ordering"'),
    ('backend: "python"\ndynamic_batching {\n', 2, 18, 'Expected "}"'),  # eof: Triton says 3:1
    ('backend: "python"\n}\n', 2, 1, "got }"),
    ('backend: "python"\nfoo_bar\n', 2, 1, '"foo_bar"'),  # eof: Triton says 3:1
    ('backend: "python"\nversion_policy { latest { num_versions: 1 } all { } }\n', 2, 45, '"all"'),
    ('backend: "python"\ndynamic_batching { }\ndynamic_batching { }\n', 3, 18, '"dynamic_batching"'),
    ('backend: "python"\nparameters { key: "a" value: { string_value: 3 } }\n', 2, 46, '"string_value"'),
    ('backend: "python"\nfoo:1\n', 2, 1, '"foo"'),
    ('backend: "python"\n\tfoo_bar: 1\n', 2, 2, '"foo_bar"'),
    ('backend: "python"\n# \u00e9\nname_x: "\u00e9"\n', 3, 1, '"name_x"'),
    ('backend: "python"\nfoo { a: 1 }\n', 2, 1, '"foo"'),
    ('backend: "python"\n[foo.bar]: 1\n', 2, 6, '"foo.bar"'),
    ('backend: "python"\ndynamic_batching { priority_levels: -1 }\n', 2, 37, '"priority_levels"'),
    (
        'backend: "python"\ninput [ { name: "A" data_type: TYPE_FP32 dims: [ 99999999999999999999 ] } ]\n',
        2,
        50,
        '"dims"',
    ),
]

ACCEPTED = [
    'backend: "python";\nmax_batch_size: 8;\n',
    'backend: "python"\nmax_batch_size: 0x10\n',
    'backend: "python"\ninput [ { name: "A" data_type: 99 dims: [ 4 ] } ]\n',  # open enum: Triton accepts numbers
    'backend: "python"\ninput [ ]\n',
    "backend: 'python'\ninput < name: \"A\" data_type: TYPE_FP32 dims: 4 >\n",
]


@pytest.mark.parametrize("text,line,column,named", REJECTED)
def test_parse_error_position_and_field(text, line, column, named):
    config, err = parse_config_text(text)
    assert config is None
    assert (err["line"], err["column"]) == (line, column), err
    assert named in err["message"], err
    assert not err["message"].startswith((f"{line}:", "'")), err  # no position or quoted line left in the message


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepted_like_libprotobuf(text):
    config, err = parse_config_text(text)
    assert err is None and config is not None


def test_locator_finds_nested_values():
    text = 'input [\n  { name: "A" dims: [ 1 ] },\n  { name: "B"\n    dims: [ 0 ] }\n]\n'
    loc = Locator(text)
    assert loc.find("input", '"B"', "dims") == (4, 5)
    assert loc.find("output") == (None, None)


def test_locator_counts_characters_and_skips_comments():
    loc = Locator('# dims here\n\tname: "\u00e9" dims: [ 1 ] # dims\n')
    assert loc.find("dims") == (2, 12)
    assert loc.find('"\u00e9"') == (2, 8)
