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
