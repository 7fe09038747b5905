"""The typed mutations (configgen.py): missing, duplicated, out of range, wrong type or enum, a name unlike its
folder, broken syntax; the field types come from the compiled schema."""

from __future__ import annotations

import copy
import random

from configgen_types import Enum, Raw, Twice
from tritonclient.grpc import model_config_pb2 as pb2


def _descriptor_for(path):
    """The protobuf field descriptor at a dict path (keys and list indexes), or None."""
    desc = pb2.ModelConfig.DESCRIPTOR
    fdesc = None
    for step in path:
        if isinstance(step, int):
            continue
        if desc is None or step not in desc.fields_by_name:
            return None
        fdesc = desc.fields_by_name[step]
        desc = fdesc.message_type
    return fdesc


def _paths(obj, prefix=()):
    """Every (path, value) under a config dict."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield (*prefix, k), v
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            if isinstance(v, (dict, list)):
                yield from _paths(v, (*prefix, i))


def _get(obj, path):
    for step in path:
        obj = obj[step]
    return obj


def _set(obj, path, value):
    for step in path[:-1]:
        obj = obj[step]
    obj[path[-1]] = value


def _delete(obj, path):
    for step in path[:-1]:
        obj = obj[step]
    del obj[path[-1]]


INT_TYPES = {3, 4, 5, 13, 16, 17, 18}  # int64, uint64, int32, uint32, sfixed/sint
UNSIGNED = {4, 13}


class Mutator:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def pick(self, config, want):
        """A random (path, descriptor) of the config whose descriptor satisfies want(fdesc, value)."""
        options = [(p, v) for p, v in _paths(config) if (fd := _descriptor_for(p)) is not None and want(fd, v, p)]
        if not options:
            return None, None
        path = self.rng.choice(options)[0]
        return path, _descriptor_for(path)

    def missing(self, config):
        path, _ = self.pick(config, lambda fd, v, p: p != ("name",) or self.rng.random() < 0.3)
        if path is None:
            return None
        _delete(config, path)
        return "missing " + ".".join(str(s) for s in path if not isinstance(s, int))

    def duplicated(self, config):
        path, fd = self.pick(config, lambda fd, v, p: True)
        if path is None:
            return None
        value = _get(config, path)
        if isinstance(value, list) and value:
            value.append(copy.deepcopy(self.rng.choice(value)))
            return "duplicated element of " + _dotted(path)
        if not _repeated(fd) and not isinstance(value, (dict, list)):
            _set(config, path, Twice(value))
            return "field written twice: " + _dotted(path)
        if isinstance(value, dict):
            parent = _get(config, path[:-1])
            # a message written twice: text format merges it (repeated sub-fields append, scalars error)
            parent[path[-1]] = value
            return None
        return None

    def out_of_range(self, config):
        path, fd = self.pick(
            config,
            lambda fd, v, p: fd.type in INT_TYPES or fd.type in (1, 2),  # integers and floats
        )
        if path is None:
            return None
        value = _get(config, path)
        choices = [-1, 0, -7, 2**31 - 1, 2**31, 2**32 + 5, 2**63, 10**6]
        if fd.name == "count" or "model_warmup" in path or "model_warmup" in config:
            # each instance is a process and warmup allocates its samples: no huge value that would still parse
            limit = 2**31 if fd.type in (5, 17) else 2**32 if fd.type == 13 else 2**63
            choices = [c for c in choices if c <= 16 or c >= limit]
        new = self.rng.choice(choices)
        if isinstance(value, list):
            if value:
                value[self.rng.randrange(len(value))] = new
            else:
                value.append(new)
        else:
            _set(config, path, new)
        return f"out of range {_dotted(path)} = {new}"

    def wrong_type(self, config):
        path, fd = self.pick(config, lambda fd, v, p: True)
        if path is None:
            return None
        value = _get(config, path)
        if fd.type == 11:  # message
            new = Raw(self.rng.choice(["3", '"x"', "true"]))
            kind = "scalar for message"
        elif fd.type == 9:
            new = Raw(self.rng.choice(["12", "true", "TYPE_FP32"]))
            kind = "non-string for string"
        elif fd.type == 8:
            new = Raw(self.rng.choice(['"yes"', "2", "1.0"]))
            kind = "non-bool for bool"
        elif fd.type == 14:
            new = Raw(self.rng.choice([f'"{value}"' if isinstance(value, str) else '"x"', "1.5"]))
            kind = "string for enum"
        else:
            new = Raw(self.rng.choice(['"4"', "1.5", "true", "1e3"]))
            kind = "non-integer for integer"
        if isinstance(value, list) and fd.type != 11:
            if value:
                value[self.rng.randrange(len(value))] = new
            else:
                value.append(new)
        elif isinstance(value, list):
            return None  # a repeated message: its elements are the messages to hit
        else:
            _set(config, path, new)
        return f"{kind} at {_dotted(path)}"

    def wrong_enum(self, config):
        path, fd = self.pick(config, lambda fd, v, p: fd.type == 14)
        if path is None:
            return None
        other = [v.name for e in pb2.DESCRIPTOR.enum_types_by_name.values() for v in e.values]
        for msg in pb2.DESCRIPTOR.message_types_by_name.values():
            for e in msg.enum_types:
                other.extend(v.name for v in e.values)
        known = [v.name for v in fd.enum_type.values]
        choice = self.rng.random()
        if choice < 0.4:
            new = Enum(self.rng.choice([n for n in other if n not in known]))
            kind = "symbol of another enum"
        elif choice < 0.6:
            new = Enum(self.rng.choice(known) + "X")
            kind = "unknown symbol"
        elif choice < 0.8:
            new = Raw(str(self.rng.choice([99, -1, len(known) + 3])))
            kind = "number outside the enum"
        else:
            new = Raw(str(self.rng.randrange(len(known))))
            kind = "number inside the enum"
        value = _get(config, path)
        if isinstance(value, list):
            value.append(new)
        else:
            _set(config, path, new)
        return f"{kind} at {_dotted(path)}"

    def name_mismatch(self, config):
        name = config.get("name", "m")
        new = self.rng.choice([str(name) + "_x", str(name).upper(), "", " " + str(name), str(name) + "/"])
        config["name"] = new
        return f"name {new!r} for folder {name!r}"

    def broken_syntax(self, text):
        r = self.rng
        choice = r.randrange(8)
        if choice == 0 and "}" in text:
            i = r.choice([i for i, c in enumerate(text) if c == "}"])
            return text[:i] + text[i + 1 :], "a closing brace missing"
        if choice == 1 and "]" in text:
            i = r.choice([i for i, c in enumerate(text) if c == "]"])
            return text[:i] + text[i + 1 :], "a closing bracket missing"
        if choice == 2 and '"' in text:
            i = r.choice([i for i, c in enumerate(text) if c == '"'])
            return text[:i] + text[i + 1 :], "an unbalanced quote"
        if choice == 3:
            i = r.randrange(1, len(text))
            return text[:i], "truncated"
        if choice == 4 and ":" in text:
            i = r.choice([i for i, c in enumerate(text) if c == ":"])
            return text[:i] + "=" + text[i + 1 :], "'=' for ':'"
        if choice == 5:
            lines = text.split("\n")
            i = r.randrange(len(lines) + 1)
            lines.insert(i, r.choice(["@", "}", "{", "input [", "name:", "max_batch_size: 4 4"]))
            return "\n".join(lines), "a stray token"
        if choice == 6:
            return text + "\n}", "an extra closing brace"
        return text.replace("{", "(", 1), "'(' for '{'"


def _repeated(fd) -> bool:
    return fd.is_repeated if hasattr(type(fd), "is_repeated") else fd.label == fd.LABEL_REPEATED


def _dotted(path):
    return ".".join(str(s) for s in path if not isinstance(s, int))
