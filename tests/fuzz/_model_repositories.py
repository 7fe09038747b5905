"""Hypothesis strategies for hostile model repositories on disk, and build() that lays one out.

Shared by the fuzz tests of model_repository_info and triton_server_node_info. A repository is drawn as plain data
(so that hypothesis can shrink it) and written by build(). Names are bytes, as Linux keeps them: not UTF-8, very long,
with newlines, spaces and dots; never NUL or '/', which no file name can hold. Where a file or a folder is expected
there may be a FIFO (reading one waits forever), a socket, a symbolic link to itself (ELOOP), a dangling link or a link
back to the repository.
"""

from __future__ import annotations

import json
import os
import stat

from hypothesis import strategies as st


def _plain(name: bytes) -> bool:
    return 0 < len(name) <= 255 and b"/" not in name and b"\0" not in name and name not in (b".", b"..")


NAMES = st.one_of(
    st.sampled_from(
        [
            b"m",
            b"add_sub",
            b"a b",
            b" lead",
            b"trail ",
            b".hidden",
            b"-dash",
            b"1",
            b"config.pbtxt",
            b"a\nb",
            b"tab\there",
            b"...",
            b"\xff\xfe",  # not UTF-8
            b"\xed\xa0\x80",  # a UTF-8-encoded surrogate: not UTF-8 either
            b"caf\xc3\xa9",
            b"\xe2\x80\x8fright-to-left",
            b"x" * 255,
            b"'quote\"",
            b"back\\slash",
        ]
    ),
    st.text(st.characters(exclude_characters="/\0", exclude_categories=("Cs",)), min_size=1, max_size=30).map(
        lambda text: text.encode("utf-8")
    ),
    st.binary(min_size=1, max_size=30),
).filter(_plain)

# Version folder names: what Triton takes (ASCII digits, no leading zero) and all that looks like it.
VERSION_NAMES = st.one_of(
    st.sampled_from(
        [
            "1",
            "2",
            "3",
            "0",
            "01",
            "007",
            "-1",
            "-0",
            "+1",
            " 1",
            "1 ",
            "1\n",
            "\u0661",  # Arabic-Indic one
            "\uff10",  # fullwidth zero
            "\u06f3",
            "1\u0660",
            "warmup",
            "initial_state",
            "1.0",
            "1e3",
            "0x1",
            "9" * 200,
            "18446744073709551616",
            "9223372036854775808",
        ]
    ).map(lambda text: text.encode("utf-8")),
    st.integers(-(2**70), 2**70).map(lambda n: str(n).encode()),
    st.text(st.characters(categories=["Nd"]), min_size=1, max_size=3).map(lambda text: text.encode("utf-8")),
    NAMES,
)

# Numbers as config.pbtxt writes them: in and out of every integer range, floats where ints go, NaN, infinities.
NUMBERS = st.one_of(
    st.integers(-3, 10).map(str),
    st.sampled_from(
        [
            "-1",
            "0",
            "2147483647",
            "2147483648",
            "-2147483649",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "18446744073709551615",
            "18446744073709551616",
            "9" * 5000,  # more digits than Python's int() takes
            "0x7fffffff",
            "0" * 300 + "1",
            "1e999",
            "nan",
            "inf",
            "-inf",
            "1.5",
            "true",
            "-0",
        ]
    ),
    st.integers().map(str),
)


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


STRINGS = st.one_of(st.text(max_size=20), st.sampled_from(["", "x" * 100_000, "\u00e9\u0000\u202e", "\\"])).map(quote)
TENSOR_NAMES = st.one_of(st.sampled_from(["I", "O", "INPUT0", "OUTPUT0"]), st.text(max_size=8)).map(quote)
DATA_TYPES = st.sampled_from(
    [
        "TYPE_FP32",
        "TYPE_STRING",
        "TYPE_INT64",
        "TYPE_BOOL",
        "TYPE_INVALID",
        "TYPE_NOPE",
        "0",
        "13",
        "99",
        "-1",
        "1" * 24,
    ]
)
HEADS = [
    'backend: "python"',
    'backend: "identity"',
    'platform: "onnxruntime_onnx"',
    'platform: "ensemble"',
    'backend: "vllm"',
    'backend: "tensorrtllm"',
    'backend: "my_custom"',
    'platform: "tensorrt_plan"\nbackend: "python"',
    'platform: "bogus"',
    'default_model_filename: "model.py"',
    "",
]
GARBAGE = ["", "unknown_field: 1", "input {", "}", "# comment", "max_batch_size: 1 max_batch_size: 2", "[x]: 1", "\t"]


def _list(values: list) -> str:
    return "[" + ", ".join(values) + "]"


@st.composite
def config_texts(draw, refs: list) -> str:
    """A config.pbtxt, mostly in the schema, with hostile values; refs: model names an ensemble step may use."""
    lines = [draw(st.sampled_from(HEADS))]
    if draw(st.booleans()):
        lines.append("name: " + draw(st.sampled_from(refs).map(quote) if refs else STRINGS))
    if draw(st.booleans()):
        lines.append("max_batch_size: " + draw(NUMBERS))
    for kind in ("input", "output"):
        for _ in range(draw(st.integers(0, 3))):
            parts = [
                "name: " + draw(TENSOR_NAMES),
                "data_type: " + draw(DATA_TYPES),
                "dims: " + _list(draw(st.lists(NUMBERS, max_size=4))),
            ]
            extra = draw(
                st.sampled_from(["", "reshape { shape: [ ] }", "reshape { shape: [2, -1] }", "optional: true"])
            )
            extra += draw(st.sampled_from(["", ' label_filename: "labels.txt"', " is_shape_tensor: true"]))
            lines.append(f"{kind} {{ {' '.join(parts)} {extra} }}")
    if draw(st.booleans()):
        kind = draw(st.sampled_from(["KIND_GPU", "KIND_CPU", "KIND_MODEL", "KIND_AUTO", "7"]))
        gpus = _list(draw(st.lists(NUMBERS, max_size=3)))
        lines.append(f"instance_group {{ count: {draw(NUMBERS)} kind: {kind} gpus: {gpus} }}")
    if draw(st.booleans()):
        sizes = _list(draw(st.lists(NUMBERS, max_size=3)))
        ordering = draw(st.sampled_from(["", " preserve_ordering: true"]))
        lines.append(
            f"dynamic_batching {{ preferred_batch_size: {sizes} priority_levels: {draw(NUMBERS)} "
            f"default_priority_level: {draw(NUMBERS)}{ordering} }}"
        )
    if draw(st.booleans()):
        values = _list(draw(st.lists(NUMBERS, max_size=3)))
        lines.append(
            f"sequence_batching {{ oldest {{ max_candidate_sequences: {draw(NUMBERS)} }} control_input "
            f'{{ name: "c" control {{ kind: CONTROL_SEQUENCE_START fp32_false_true: {values} }} }} }}'
        )
    policy = draw(st.sampled_from(["", "latest { num_versions: N }", "specific { versions: [N] }", "all { }"]))
    if policy:
        lines.append("version_policy { " + policy.replace("N", draw(NUMBERS)) + " }")
    if draw(st.booleans()):
        dims = _list(draw(st.lists(NUMBERS, max_size=3)))
        data = draw(st.sampled_from(['input_data_file: "f"', "zero_data: true", "random_data: true", ""]))
        lines.append(
            f'model_warmup {{ name: "w" batch_size: {draw(NUMBERS)} inputs {{ key: {draw(TENSOR_NAMES)} value '
            f"{{ data_type: {draw(DATA_TYPES)} dims: {dims} {data} }} }} }}"
        )
    if draw(st.booleans()):
        steps = []
        for _ in range(draw(st.integers(0, 3))):
            target = draw(st.sampled_from(refs).map(quote) if refs else STRINGS)
            steps.append(
                f"step {{ model_name: {target} model_version: {draw(NUMBERS)} "
                'input_map { key: "I" value: "I" } output_map { key: "O" value: "O" } }'
            )
        lines.append("ensemble_scheduling { " + " ".join(steps) + " }")
    for extra in draw(
        st.lists(
            st.sampled_from(
                [
                    'parameters { key: "gpt_model_path" value { string_value: "" } }',
                    "model_repository_agents { }",
                    "response_cache { enable: true }",
                    'runtime: "libfoo.so"',
                    "model_transaction_policy { decoupled: true }",
                ]
            ),
            max_size=2,
        )
    ):
        lines.append(extra)
    lines.append(draw(st.sampled_from(GARBAGE)))
    return "\n".join(lines)


# Configs no schema-shaped generator makes: sizes, nesting and literals that have broken parsers.
HOSTILE_CONFIGS = [
    b"input " + b"{" * 20_000,
    b"input { " * 20_000,
    b"{" * 50_000,
    b'name: "' + b"x" * 2_000_000 + b'"',
    b"max_batch_size: " + b"9" * 5000,
    # a float field takes a literal of 5000 digits; an enum beyond 64 bits then makes the parser look for it
    b'sequence_batching { control_input { name: "c" control { fp32_false_true: ' + b"1" * 5000 + b" } } }\n"
    b'input { name: "a" data_type: 100000000000000000000000 }',
    b"\x00" * 100,
    b'\xef\xbb\xbfbackend: "python"',
    b'parameters { key: "k" value { string_value: "' + b"\\" * 10_001 + b'" } }',
    b'backend: "python"\n' + b"#" * 100_000,
]


def config_bytes(refs: list):
    return st.one_of(
        config_texts(refs).map(lambda text: text.encode("utf-8")),
        config_texts(refs).map(lambda text: text.encode("utf-8") + b"\n\xff\xfe"),
        st.binary(max_size=300),
        st.sampled_from(HOSTILE_CONFIGS),
    )


MODEL_PY = st.one_of(
    st.sampled_from(
        [
            b"class TritonPythonModel:\n    def execute(self, requests):\n        return []\n",
            b"def broken(:\n",
            b"x = " + b"+".join([b"1"] * 30_000),  # RecursionError in the compiler
            b"x = " + b"-" * 30_000 + b"1",  # MemoryError in the compiler
            b"x = " + b"(" * 300 + b")" * 300,
            b"x = 1\0\n",
            b"\xff\xfe\n",
            b"# -*- coding: nope -*-\n",
            b"",
        ]
    ),
    st.binary(max_size=200),
)


def _json_bytes(value) -> bytes:
    return json.dumps(value).encode("utf-8")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)
MODEL_JSON = st.one_of(
    st.fixed_dictionaries(
        {"model": st.one_of(st.text(max_size=10), JSON_VALUES)},
        optional={"gpu_memory_utilization": JSON_VALUES, "tensor_parallel_size": JSON_VALUES},
    ).map(_json_bytes),
    JSON_VALUES.map(_json_bytes),
    st.sampled_from([b"[" * 100_000, b'{"model": ' * 50_000, b'{"model": 1' + b"0" * 5000 + b"}"]),
    st.binary(max_size=100),
)

FILE_NAMES = st.one_of(
    st.sampled_from([b"model.py", b"model.onnx", b"model.plan", b"model.json", b"model.savedmodel", b"model.pt"]),
    NAMES,
)

# What stands where a file or a folder is expected, besides the file or folder itself.
ODD_KINDS = ["fifo", "socket", "loop", "dangling"]
FILE_KINDS = st.sampled_from(["file"] * 6 + ["dir", *ODD_KINDS])
FOLDER_KINDS = st.sampled_from(["dir"] * 6 + ["file", "link_repo", *ODD_KINDS])


def file_content(name: bytes, refs: list):
    if name == b"model.py":
        return MODEL_PY
    if name == b"model.json":
        return MODEL_JSON
    if name == b"config.pbtxt":
        return config_bytes(refs)
    return st.binary(max_size=64)


@st.composite
def _files(draw, folder: bytes, names, refs: list, max_size: int) -> list:
    """[(path, kind, content)] of the entries of one folder (files or what stands in for them), names unique."""
    found = []
    for name in draw(st.lists(names, max_size=max_size, unique=True)):
        kind = draw(FILE_KINDS)
        content = draw(file_content(name, refs)) if kind == "file" else b""
        found.append((os.path.join(folder, name) if folder else name, kind, content))
    return found


@st.composite
def drawn_models(draw, refs: list) -> list:
    """The entries of a model folder drawn freely: a config.pbtxt, version folders and their files, and extras."""
    found = []
    if draw(st.integers(0, 4)):
        kind = draw(FILE_KINDS)
        found.append((b"config.pbtxt", kind, draw(config_bytes(refs)) if kind == "file" else b""))
    found += draw(_files(b"", st.sampled_from([b"labels.txt", b"warmup", b"initial_state", b"libfoo.so"]), refs, 2))
    for version in draw(st.lists(VERSION_NAMES, max_size=3, unique=True)):
        found.append((version, draw(FOLDER_KINDS), b""))
        found += draw(_files(version, FILE_NAMES, refs, 3))
    return found


LABELS = b"cat\ndog\n"
PY_OK = b"class TritonPythonModel:\n    def execute(self, requests):\n        return []\n"
TENSORS = (
    'input { name: "I" data_type: TYPE_FP32 dims: [1] }\noutput { name: "O" data_type: TYPE_FP32 dims: [1] '
    'label_filename: "labels.txt" }\n'
)
# Valid models of each kind the validator reads files for: one of their entries is then replaced (see templated_models)
# so that every read of the validator meets a FIFO, a link loop or hostile bytes where it expects its file.
TEMPLATES = [
    [(b"config.pbtxt", 'backend: "python"\n' + TENSORS), (b"labels.txt", LABELS), (b"1", None), (b"1/model.py", PY_OK)],
    [
        (b"config.pbtxt", 'backend: "vllm"\n' + TENSORS),
        (b"labels.txt", LABELS),
        (b"1", None),
        (b"1/model.json", b'{"model": "opt-125m"}'),
    ],
    [
        (b"config.pbtxt", 'platform: "onnxruntime_onnx"\n' + TENSORS),
        (b"labels.txt", LABELS),
        (b"1", None),
        (b"1/model.onnx", b"onnx"),
    ],
    [(b"1", None), (b"1/model.onnx", b"onnx")],  # no config: auto-complete tells the backend from the file
    [
        (
            b"config.pbtxt",
            'backend: "identity"\ninput { name: "I" data_type: TYPE_STRING dims: [1] }\n'
            'output { name: "O" data_type: TYPE_STRING dims: [1] }\nmodel_warmup { name: "w" batch_size: 1 inputs '
            '{ key: "I" value { data_type: TYPE_STRING dims: [1] input_data_file: "f" } } }\n',
        ),
        (b"1", None),
        (b"warmup", None),
        (b"warmup/f", b"\x01\x00\x00\x00a"),
    ],
    [
        (
            b"config.pbtxt",
            'backend: "identity"\n' + TENSORS + 'model_warmup { name: "w" batch_size: 1 inputs '
            '{ key: "I" value { data_type: TYPE_FP32 dims: [1] input_data_file: "f" } } }\n'
            'sequence_batching { state { input_name: "S" output_name: "S2" data_type: TYPE_FP32 dims: [1] '
            'initial_state { name: "s" data_type: TYPE_FP32 dims: [1] data_file: "s" } } }\nruntime: "libx.so"\n',
        ),
        (b"labels.txt", LABELS),
        (b"1", None),
        (b"warmup", None),
        (b"warmup/f", b"\0\0\0\0"),
        (b"initial_state", None),
        (b"initial_state/s", b"\0\0\0\0"),
        (b"libx.so", b"\x7fELF"),
    ],
]


@st.composite
def templated_models(draw, refs: list) -> list:
    """A valid model of one kind with one or two of its entries replaced by another kind or hostile content."""
    found = [
        (path, "dir" if content is None else "file", content) for path, content in draw(st.sampled_from(TEMPLATES))
    ]
    found = [(p, k, c.encode("utf-8") if isinstance(c, str) else c or b"") for p, k, c in found]
    for index in draw(st.lists(st.integers(0, len(found) - 1), min_size=1, max_size=2, unique=True)):
        path = found[index][0]
        kind = draw(st.sampled_from(["file", "dir", "link_repo", *ODD_KINDS]))
        content = draw(file_content(os.path.basename(path), refs)) if kind == "file" else b""
        found[index] = (path, kind, content)
    return found


@st.composite
def models(draw, name: bytes, refs: list) -> dict:
    """One model folder: its kind and its entries [(path relative to the folder, kind, content)], parents first."""
    entries = draw(st.one_of(templated_models(refs), drawn_models(refs)))
    return {"name": name, "kind": draw(FOLDER_KINDS), "entries": entries}


@st.composite
def repositories(draw, max_models: int = 4) -> list:
    """A model repository: a list of models (see models()); ensembles refer to each other and to missing models."""
    names = draw(st.lists(NAMES, max_size=max_models, unique=True))
    refs = [n.decode("utf-8") for n in names if _utf8(n)] + ["missing"]
    return [draw(models(name, refs)) for name in names]


def _utf8(name: bytes) -> bool:
    try:
        name.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def make(path: bytes, kind: str, content: bytes = b"") -> None:
    """Create one entry of the given kind at path."""
    if kind == "file":
        with open(path, "wb") as handle:
            handle.write(content)
    elif kind == "dir":
        os.mkdir(path)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        os.mknod(path, stat.S_IFSOCK | 0o600)  # bind() would limit the path to 108 bytes
    elif kind == "loop":
        os.symlink(os.path.basename(path), path)  # a link to itself: ELOOP
    elif kind == "dangling":
        os.symlink(b"nowhere-" + os.path.basename(path)[:200], path)
    elif kind == "link_repo":
        os.symlink(b"..", path)  # from a model folder's entry: back to the model folder's parent
    else:
        raise ValueError(kind)


def build(root: str, repository: list) -> str:
    """Lay out the repository in a new folder `repo` under root; its path."""
    top = os.path.join(os.fsencode(root), b"repo")
    os.mkdir(top)
    for model in repository:
        folder = os.path.join(top, model["name"])
        if model["kind"] != "dir":
            make(folder, model["kind"])
            continue
        os.mkdir(folder)
        for path, kind, content in model["entries"]:
            full = os.path.join(folder, path)
            # an entry under a folder that another kind replaced, or a name taken already, is left out
            if os.path.isdir(os.path.dirname(full)) and not os.path.islink(os.path.dirname(full)):
                if not os.path.lexists(full):
                    make(full, kind, content)
    return os.fsdecode(top)


def model_folders(repo: str) -> set:
    """The folders of a repository (links followed), as a module names them: bytes that are not UTF-8 as \\xNN."""
    top = os.fsencode(repo)
    return {
        name.decode("utf-8", "backslashreplace") for name in os.listdir(top) if os.path.isdir(os.path.join(top, name))
    }
