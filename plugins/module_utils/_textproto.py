# -*- coding: utf-8 -*-
# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Protobuf text-format positions and messages the way Triton's C++ parser (libprotobuf) reports them.

Python's text_format finds the same errors as libprotobuf but words them differently and often points at another
token (C++ reports most errors at the token *after* the offending one, counts columns in bytes and expands tabs to
8-column stops). This module re-tokenizes the text like libprotobuf's tokenizer and rewrites Python's ParseError into
the C++ line:column and message. It also locates fields and values for semantic findings.

Private to this collection: no stable API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t\r\n\v\f]+)
  | (?P<comment>\#[^\n]*)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>0[xX][0-9A-Fa-f]+|[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?[fF]?|\.[0-9]+(?:[eE][+-]?[0-9]+)?[fF]?)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<badstring>["'][^\n]*)
  | (?P<symbol>.)
    """,
    re.VERBOSE | re.DOTALL,
)


class Token:
    __slots__ = ("col", "cpp_col", "kind", "line", "text")

    def __init__(self, kind, text, line, col, cpp_col):
        self.kind = kind  # ident, number, string, badstring, symbol, eof
        self.text = text
        self.line = line  # 0-based
        self.col = col  # 0-based, in characters (Python's view)
        self.cpp_col = cpp_col  # 0-based, bytes with tabs expanded to 8 (libprotobuf's view)

    def cpp_pos(self):
        return self.line + 1, self.cpp_col + 1


def tokenize(text):
    """All tokens of `text` (comments and whitespace dropped) plus a final 'eof' token."""
    tokens = []
    line = 0
    col = 0
    cpp_col = 0
    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN_RE.match(text, pos)
        kind = m.lastgroup
        value = m.group(kind)
        if kind not in ("ws", "comment"):
            tokens.append(Token(kind, value, line, col, cpp_col))
        for ch in value:
            if ch == "\n":
                line += 1
                col = 0
                cpp_col = 0
            elif ch == "\t":
                col += 1
                cpp_col += 8 - cpp_col % 8
            else:
                col += 1
                cpp_col += 1 if ord(ch) < 0x80 else len(ch.encode("utf-8", "replace"))
        pos = m.end()
    tokens.append(Token("eof", "", line, col, cpp_col))
    return tokens


def _token_at(tokens, line, col):
    """Index of the token starting at Python's 1-based (line, col), else of the last token before it."""
    target = (line - 1, col - 1)
    best = 0
    for i, tok in enumerate(tokens):
        if (tok.line, tok.col) <= target:
            best = i
        else:
            break
    return best


def _next_pos(tokens, idx):
    nxt = tokens[min(idx + 1, len(tokens) - 1)]
    return nxt.cpp_pos()


def _field_before(tokens, idx):
    """Name of the field whose value is tokens[idx] (skips ':' and list brackets/commas)."""
    i = idx - 1
    while i >= 0:
        tok = tokens[i]
        if tok.kind == "ident" and i + 1 < len(tokens) and tokens[i + 1].text in (":", "[", "{", "<"):
            if tokens[i + 1].text == ":" or i + 1 == idx:
                return tok.text
        i -= 1
    return ""


_Q = '"([^"]*)"'


def cpp_parse_error(text, py_line, py_col, py_message, type_name="inference.ModelConfig"):
    """Translate a Python text_format ParseError into (line, column, message) as libprotobuf reports it."""
    tokens = tokenize(text)
    if py_line is None:
        return None, None, py_message
    msg = py_message
    # Python prefixes "'<current line>': " to some messages; strip it.
    lines = text.split("\n")
    if 0 < py_line <= len(lines):
        for prefix in ("'%s': " % lines[py_line - 1], "'%s\n': " % lines[py_line - 1]):
            if msg.startswith(prefix):
                msg = msg[len(prefix) :]
                break
    idx = _token_at(tokens, py_line, py_col or 1)
    tok = tokens[idx]

    m = re.search(r'has no field named "([^"]*)"', msg)
    if m:
        name = m.group(1)
        fidx = _find_ident_backwards(tokens, idx, name)
        line, col = _next_pos(tokens, fidx)
        return line, col, msg
    m = re.search(r'should not have multiple "([^"]*)" fields', msg)
    if m:
        name = m.group(1)
        fidx = _find_ident_backwards(tokens, idx, name)
        line, col = _next_pos(tokens, fidx)
        return line, col, 'Non-repeated field "%s" is specified multiple times.' % name
    m = re.search(r'Field "([^"]*)" is specified along with field "([^"]*)", another member of oneof "([^"]*)"', msg)
    if m:
        fidx = _find_ident_backwards(tokens, idx, m.group(1))
        line, col = _next_pos(tokens, fidx)
        return line, col, 'Field "%s" is specified along with field "%s", another member of oneof "%s".' % m.groups()
    if "does not have extensions" in msg or "Extension" in msg:
        start = idx
        while start > 0 and tokens[start].text != "[":
            start -= 1
        j = start
        while j < len(tokens) - 1 and tokens[j].text != "]":
            j += 1
        name = "".join(t.text for t in tokens[start + 1 : j])
        line, col = _next_pos(tokens, j)
        return line, col, 'Extension "%s" is not defined or is not an extension of "%s".' % (name, type_name)
    m = re.search(r"Enum type \"[^\"]*\" has no value (?:named|with number) (\S+?)\.?$", msg)
    if m:
        line, col = _next_pos(tokens, idx)
        return line, col, 'Unknown enumeration value of "%s" for field "%s".' % (m.group(1), _field_before(tokens, idx))
    if 'Expected "true" or "false"' in msg:
        line, col = _next_pos(tokens, idx)
        return line, col, 'Invalid value for boolean field "%s". Value: "%s".' % (_field_before(tokens, idx), tok.text)
    m = re.match(r"Couldn't parse integer: (.*)$", msg)
    if m:
        return tok.line + 1, tok.cpp_col + 1, "Expected integer, got: %s" % tok.text
    m = re.match(r"Couldn't parse (?:float|double)(?: number)?: (.*)$", msg)
    if m:
        return tok.line + 1, tok.cpp_col + 1, "Expected double, got: %s" % tok.text
    m = re.match(r"Value out of range: (-?)(.*)$", msg)
    if m:
        if m.group(1) and tok.text == "-":
            return tok.line + 1, tok.cpp_col + 1, "Expected integer, got: -"
        return tok.line + 1, tok.cpp_col + 1, "Integer out of range (%s%s)" % m.groups()
    if msg.startswith("Expected string but found"):
        return tok.line + 1, tok.cpp_col + 1, "Expected string, got: %s" % tok.text
    if msg.startswith("String missing ending quote"):
        # libprotobuf reports the end of the line the literal started on.
        line_text = text.splitlines()[tok.line] if tok.line < len(text.splitlines()) else ""
        last = tokenize(line_text)[-1]
        return tok.line + 1, last.cpp_col + 1, "String literals cannot cross line boundaries."
    m = re.match(r'Expected "(.)"\.$', msg)
    if m:
        if tokens[idx + 1 if idx + 1 < len(tokens) else idx].kind == "eof" and m.group(1) in "}>":
            eof = tokens[-1]
            return eof.line + 1, eof.cpp_col + 1, "Expected identifier, got: "
        return tok.line + 1, tok.cpp_col + 1, 'Expected "%s", found "%s".' % (m.group(1), tok.text)
    m = re.match(r"Expected identifier(?: or number)?, got (.*?)\.?$", msg)
    if m:
        return tok.line + 1, tok.cpp_col + 1, "Expected identifier, got: %s" % tok.text
    return tok.line + 1, tok.cpp_col + 1, msg


def _find_ident_backwards(tokens, idx, name):
    for i in range(min(idx, len(tokens) - 1), -1, -1):
        if tokens[i].kind == "ident" and tokens[i].text == name:
            return i
    for i in range(idx, len(tokens)):
        if tokens[i].kind == "ident" and tokens[i].text == name:
            return i
    return idx


class Locator:
    """Finds the line of fields/values in a config text for semantic findings (lazy: only built on demand)."""

    def __init__(self, text):
        self._text = text
        self._tokens = None

    @property
    def tokens(self):
        if self._tokens is None:
            self._tokens = tokenize(self._text or "")
        return self._tokens

    def find(self, *path):
        """Position of the last element of `path`, each element found after the previous one.

        An element is a field name (identifier followed by ':' '{' '<' or '[') or a quoted string value ('"x"').
        Returns (line, column) 1-based in libprotobuf's convention, or (None, None)."""
        tokens = self.tokens
        i = 0
        found = None
        for want in path:
            found = None
            while i < len(tokens):
                tok = tokens[i]
                i += 1
                if want.startswith('"'):
                    if tok.kind == "string" and tok.text[1:-1] == want[1:-1]:
                        found = tok
                        break
                elif tok.kind in ("ident", "number") and tok.text == want:
                    found = tok
                    break
            if found is None:
                return None, None
        if found is None:
            return None, None
        return found.cpp_pos()


# -- fast path -------------------------------------------------------------------------------------------------------
#
# protobuf's text_format is pure Python even with the upb backend, and its line-by-line tokenizer dominates the cost of
# validating a large repository (about 1-3 ms per config.pbtxt). fast_parse() below parses the plain text most configs
# are written in, with the tokens text_format uses and the same field-by-field assignments on the message, and gives up
# (returns False) on anything it is not sure text_format treats the same way: characters outside printable ASCII,
# escapes or adjacent strings, unknown or repeated singular fields, oneof members, hex/octal/underscore integers,
# out-of-range values, enum numbers, extensions and Any. The caller then parses with text_format, which is the
# reference: when fast_parse() returns True, text_format.Parse() accepts the text and builds an equal message (checked
# by tests/unit/test_textproto_fast.py against the corpus and mutated configs); when it returns False, every error and
# its position come from text_format exactly as before.

# Characters other than printable ASCII, tab, CR and LF (Python's \s and libprotobuf's whitespace differ on the rest).
_FAST_UNSAFE = re.compile(r"[^\t\n\r\x20-\x7e]")
# One token of text_format.Tokenizer (identifier, number, quoted string, else one character) after the whitespace and
# comments before it; an empty group at the end of the text. Only plain string literals (closed, no backslash) are one
# token here: anything else that starts with a quote is a lone quote character, which fast_parse never accepts, so a
# text it accepts is cut into exactly the tokens text_format sees.
_FAST_TOKEN = re.compile(
    r"""[ \t\r\n]*(?:\#[^\n]*[ \t\r\n]*)*(
      [a-zA-Z_][0-9a-zA-Z_+-]*
    | (?:[0-9+-]|\.[0-9])[0-9a-zA-Z_.+-]*
    | "[^"\n\\]*"
    | '[^'\n\\]*'
    | .
    | \Z
    )""",
    re.VERBOSE,
)
_FAST_INT = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")
_FAST_FLOAT = re.compile(r"-?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_FAST_BOOL = {"true": True, "t": True, "1": True, "True": True, "false": False, "f": False, "0": False, "False": False}

# FieldDescriptor.type values (descriptor.proto) and the integer ranges text_format enforces for them.
_INT_RANGES = {
    5: (-(2**31), 2**31 - 1),  # int32
    17: (-(2**31), 2**31 - 1),  # sint32
    15: (-(2**31), 2**31 - 1),  # sfixed32
    3: (-(2**63), 2**63 - 1),  # int64
    18: (-(2**63), 2**63 - 1),  # sint64
    16: (-(2**63), 2**63 - 1),  # sfixed64
    13: (0, 2**32 - 1),  # uint32
    7: (0, 2**32 - 1),  # fixed32
    4: (0, 2**64 - 1),  # uint64
    6: (0, 2**64 - 1),  # fixed64
}
_TYPE_DOUBLE, _TYPE_FLOAT, _TYPE_BOOL, _TYPE_STRING, _TYPE_MESSAGE, _TYPE_ENUM = 1, 2, 8, 9, 11, 14
_SCALAR_TYPES = (_TYPE_DOUBLE, _TYPE_FLOAT, _TYPE_BOOL, _TYPE_STRING, _TYPE_ENUM, *_INT_RANGES)
_FIELD_MESSAGE, _FIELD_MAP, _FIELD_SCALAR = 0, 1, 2


class _GiveUp(Exception):
    """fast_parse is not sure: text_format decides."""


_FIELD_INFO = {}


def _fields_of(descriptor):
    """name -> (kind, name, repeated, oneof name, scalar type, enum values by name, map value is a message)."""
    info = _FIELD_INFO.get(descriptor.full_name)
    if info is None:
        info = {}
        for field in descriptor.fields:
            repeated = field.is_repeated if hasattr(field, "is_repeated") else field.label == 3  # LABEL_REPEATED
            oneof = field.containing_oneof.name if field.containing_oneof is not None else None
            enum_values = None
            map_value_message = False
            if field.type == _TYPE_MESSAGE:
                if field.message_type.GetOptions().map_entry:
                    kind = _FIELD_MAP
                    map_value_message = field.message_type.fields_by_name["value"].type == _TYPE_MESSAGE
                else:
                    kind = _FIELD_MESSAGE
            elif field.type in _SCALAR_TYPES:
                kind = _FIELD_SCALAR
                if field.type == _TYPE_ENUM:
                    enum_values = dict((v.name, v.number) for v in field.enum_type.values)
            else:
                continue  # bytes, groups: not in model_config.proto; text_format handles them
            info[field.name] = (kind, field.name, repeated, oneof, field.type, enum_values, map_value_message)
        _FIELD_INFO[descriptor.full_name] = info
    return info


def _scalar(tokens, pos, field):
    """The value of scalar `field` at tokens[pos], as text_format computes it."""
    tok = tokens[pos]
    ftype = field[4]
    if tok is None:
        raise _GiveUp()
    if ftype == _TYPE_STRING:
        if tok[0] not in "\"'" or len(tok) < 2:
            raise _GiveUp()
        nxt = tokens[pos + 1]
        if nxt is not None and nxt[0] in "\"'":
            raise _GiveUp()  # adjacent literals are concatenated
        return tok[1:-1]
    if ftype == _TYPE_ENUM:
        value = field[5].get(tok)
        if value is None:
            raise _GiveUp()
        return value
    if ftype == _TYPE_BOOL:
        value = _FAST_BOOL.get(tok)
        if value is None:
            raise _GiveUp()
        return value
    if ftype == _TYPE_FLOAT or ftype == _TYPE_DOUBLE:
        if not _FAST_FLOAT.match(tok):
            raise _GiveUp()
        return float(tok)
    if not _FAST_INT.match(tok):
        raise _GiveUp()
    value = int(tok)
    low, high = _INT_RANGES[ftype]
    if value < low or value > high:
        raise _GiveUp()
    return value


def _message_value(tokens, pos, message, field):
    """Merge one `{ ... }` / `< ... >` value of message or map `field` into `message`; returns the next position."""
    tok = tokens[pos]
    if tok == "{":
        end = "}"
    elif tok == "<":
        end = ">"
    else:
        raise _GiveUp()
    kind, name = field[0], field[1]
    if kind == _FIELD_MAP:
        container = getattr(message, name)
        entry = container.GetEntryClass()()
        pos = _fields(tokens, pos + 1, entry, end)
        if field[6]:
            container[entry.key].CopyFrom(entry.value)
        else:
            container[entry.key] = entry.value
        return pos
    if field[2]:
        sub = getattr(message, name).add()
    else:
        sub = getattr(message, name)
        sub.SetInParent()
    return _fields(tokens, pos + 1, sub, end)


def _fields(tokens, pos, message, end):
    """Merge fields into `message` up to the token `end` (None: end of text); returns the position after it."""
    info = _fields_of(message.DESCRIPTOR)
    seen = set()
    while True:
        tok = tokens[pos]
        if tok == end:
            return pos + 1
        field = info.get(tok)  # None (end of text) and anything but a known field name: give up
        if field is None:
            raise _GiveUp()
        pos += 1
        kind, name, repeated, oneof = field[0], field[1], field[2], field[3]
        if not repeated:
            if name in seen:
                raise _GiveUp()
            seen.add(name)
        if oneof is not None:
            if oneof in seen:
                raise _GiveUp()
            seen.add(oneof)
        if kind == _FIELD_SCALAR:
            if tokens[pos] != ":":
                raise _GiveUp()
            pos += 1
            if repeated:
                target = getattr(message, name)
                if tokens[pos] == "[":
                    pos += 1
                    if tokens[pos] == "]":
                        pos += 1
                    else:
                        while True:
                            target.append(_scalar(tokens, pos, field))
                            sep = tokens[pos + 1]
                            pos += 2
                            if sep == "]":
                                break
                            if sep != ",":
                                raise _GiveUp()
                else:
                    target.append(_scalar(tokens, pos, field))
                    pos += 1
            else:
                setattr(message, name, _scalar(tokens, pos, field))
                pos += 1
        else:
            if tokens[pos] == ":":
                pos += 1
            if repeated and tokens[pos] == "[":
                pos += 1
                if tokens[pos] == "]":
                    pos += 1
                else:
                    while True:
                        pos = _message_value(tokens, pos, message, field)
                        sep = tokens[pos]
                        pos += 1
                        if sep == "]":
                            break
                        if sep != ",":
                            raise _GiveUp()
            else:
                pos = _message_value(tokens, pos, message, field)
        sep = tokens[pos]
        if sep == "," or sep == ";":
            pos += 1


def fast_parse(text, message):
    """Parse text-format `text` into the empty `message` the way text_format.Parse does, for the plain text most configs
    use. Returns True when done; False when unsure (the message is then in an undefined state: discard it and parse
    with text_format, which reports errors exactly)."""
    if _FAST_UNSAFE.search(text):
        return False
    tokens = _FAST_TOKEN.findall(text)
    while tokens and not tokens[-1]:
        tokens.pop()
    tokens.append(None)  # end of text
    tokens.append(None)  # _scalar looks one token past a value
    try:
        return _fields(tokens, 0, message, None) == len(tokens) - 1
    except Exception:  # _GiveUp, or anything the message refuses: text_format decides and reports
        return False
