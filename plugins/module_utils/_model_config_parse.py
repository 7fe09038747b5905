# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parsing config.pbtxt and locating its fields: Triton's schema, protobuf's text_format and json_format.

config.pbtxt is parsed with Triton's own schema (inference.ModelConfig, compiled into tritonclient as
tritonclient/grpc/model_config_pb2.py) by protobuf's text_format; a parse error keeps the line and column of its
ParseError and names the field it is about. Locator finds the line and column of a field or value for the findings
that are not parse errors, counted the way text_format counts them (1-based, in characters).

Private to this collection: no stable API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect
import os
import re
import sys

PB2_MODULE = "tritonclient.grpc.model_config_pb2"


class MissingSchemaError(Exception):
    """protobuf or tritonclient (which ships Triton's compiled model_config.proto) is not importable."""


_SCHEMA = {}


def load_schema():
    """Return (model_config_pb2, text_format, json_format), importing them once.

    `import tritonclient.grpc.model_config_pb2` runs tritonclient/grpc/__init__.py, which needs grpcio; the module
    file itself only needs protobuf, so when grpc is absent the file is loaded by path under its own name."""
    if _SCHEMA:
        return _SCHEMA["pb2"], _SCHEMA["text_format"], _SCHEMA["json_format"]
    try:
        from google.protobuf import json_format, text_format
    except ImportError as exc:
        raise MissingSchemaError("protobuf", exc) from exc
    pb2 = sys.modules.get(PB2_MODULE)
    if pb2 is None:
        try:
            import importlib
            import importlib.util

            spec = importlib.util.find_spec("tritonclient")
        except (ImportError, ValueError) as exc:
            raise MissingSchemaError("tritonclient", exc) from exc
        if spec is None or not spec.submodule_search_locations:
            raise MissingSchemaError("tritonclient", ImportError("No module named 'tritonclient'"))
        path = None
        for base in spec.submodule_search_locations:
            candidate = os.path.join(base, "grpc", "model_config_pb2.py")
            if os.path.isfile(candidate):
                path = candidate
                break
        if path is None:
            raise MissingSchemaError(
                "tritonclient", ImportError("tritonclient has no grpc/model_config_pb2.py (install tritonclient[grpc])")
            )
        try:
            file_spec = importlib.util.spec_from_file_location(PB2_MODULE, path)
            pb2 = importlib.util.module_from_spec(file_spec)
            file_spec.loader.exec_module(pb2)
        except Exception as exc:  # protobuf runtime too old/new for the generated code
            raise MissingSchemaError("tritonclient", exc) from exc
        sys.modules[PB2_MODULE] = pb2
    _SCHEMA.update(pb2=pb2, text_format=text_format, json_format=json_format)
    return pb2, text_format, json_format


def finding(message, file=None, line=None, column=None):
    """One error or warning of the module's result."""
    item = {"message": message}
    if file is not None:
        item["file"] = file
    if line is not None:
        item["line"] = line
    if column is not None:
        item["column"] = column
    return item


# The field a value belongs to: the last `name:` before the value on its line.
_FIELD_BEFORE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*:")
# An extension's name in brackets: `[foo.bar]: 1`.
_EXTENSION = re.compile(r"\[\s*([A-Za-z0-9_./]+)\s*\]")


def _parse_error_message(exc, text):
    """ParseError's message without its position prefix and the quoted line, naming the field when it does not."""
    line, col = exc.GetLine(), exc.GetColumn()
    message = str(exc)
    prefix = "%s:%s : " % (line, col) if col is not None else "%s : " % line
    if message.startswith(prefix):
        message = message[len(prefix) :]
    lines = text.split("\n")
    source = lines[line - 1] if line and 0 < line <= len(lines) else ""
    quoted = "'%s': " % source
    if message.startswith(quoted):
        message = message[len(quoted) :]
    if not (line and col):
        return message
    extensions = [m.group(1) for m in _EXTENSION.finditer(source) if m.start() < col] if "extension" in message else []
    if extensions:
        message = '%s (extension "%s")' % (message.rstrip("."), extensions[-1])
    elif "field" not in message.lower():
        names = _FIELD_BEFORE.findall(source[: col - 1])
        if names:
            message = '%s (field "%s")' % (message.rstrip("."), names[-1])
    return message


def parse_config_text(text):
    """Parse config.pbtxt text. Returns (ModelConfig or None, error dict without 'file' or None)."""
    pb2, text_format, _json_format = load_schema()
    msg = pb2.ModelConfig()
    try:
        text_format.Parse(text, msg)
    except text_format.ParseError as exc:
        return None, finding(_parse_error_message(exc, text), line=exc.GetLine(), column=exc.GetColumn())
    except (ValueError, TypeError) as exc:
        # An enum given as a number beyond 64 bits escapes ParseError in protobuf's Python parser; libprotobuf
        # reports it as "Integer out of range (N)" at the number.
        for number, line, col in _integer_literals(text):
            if _beyond_64_bits(number):
                return None, finding("Integer out of range (%s)" % number, line=line, column=col)
        return None, finding("failed to parse the text proto: %s" % exc)
    return msg, None


_INTEGER_RE = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|(?<![\w.])([0-9]+)(?![\w.])')


def _beyond_64_bits(digits):
    """Whether a decimal literal is above 2**64 - 1, told without int() for a long one: Python refuses to convert
    more than 4300 digits (ValueError), and a float field takes such a literal without complaint."""
    digits = digits.lstrip("0")
    return len(digits) > 20 or (len(digits) == 20 and int(digits) > 0xFFFFFFFFFFFFFFFF)


def _integer_literals(text):
    """(digits, 1-based line, 1-based column) of each decimal integer literal outside strings and comments."""
    for lineno, line in enumerate(text.splitlines(), 1):
        for match in _INTEGER_RE.finditer(line):
            if match.group(1):
                yield match.group(1), lineno, match.start(1) + 1


def config_to_dict(message):
    """The parsed configuration as the module returns it: protobuf's JSON mapping with the proto field names."""
    return load_schema()[2].MessageToDict(message, preserving_proto_field_name=True)


# Identifiers, numbers and quoted strings of the text format; comments are skipped, anything else is one character.
_TOKEN = re.compile(
    r"""\#[^\n]*
      | (?P<word>[A-Za-z0-9_.+-]+)
      | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
      | \S""",
    re.VERBOSE,
)


class Locator:
    """Finds the line and column of fields and values in a config text for the findings (tokens read on demand)."""

    def __init__(self, text):
        self._text = text or ""
        self._tokens = None
        self._index = None

    @property
    def tokens(self):
        """(kind, text, line, column) of each word and string, line and column 1-based."""
        if self._tokens is None:
            tokens = []
            for lineno, line in enumerate(self._text.split("\n"), 1):
                for match in _TOKEN.finditer(line):
                    kind = match.lastgroup
                    if kind:
                        tokens.append((kind, match.group(kind), lineno, match.start() + 1))
            self._tokens = tokens
        return self._tokens

    @property
    def index(self):
        """(kind, word or string without its quotes) -> the positions of its tokens, ascending."""
        if self._index is None:
            index = {}
            for pos, (kind, value, _line, _col) in enumerate(self.tokens):
                index.setdefault((kind, value[1:-1] if kind == "string" else value), []).append(pos)
            self._index = index
        return self._index

    def find(self, *path):
        """Position of the last element of `path`, each element found after the previous one.

        An element is a field name or number (a word) or a quoted string value ('"x"').
        Returns (line, column), or (None, None).

        Looked up in an index, not by a scan from the start: a config with thousands of findings (one per tensor of
        thousands) took minutes."""
        start = 0
        found = None
        for want in path:
            key = ("string", want[1:-1]) if want.startswith('"') else ("word", want)
            positions = self.index.get(key, ())
            at = bisect.bisect_left(positions, start)
            if at == len(positions):
                return None, None
            pos = positions[at]
            found = self.tokens[pos][2:]
            start = pos + 1
        if found is None:
            return None, None
        return found
