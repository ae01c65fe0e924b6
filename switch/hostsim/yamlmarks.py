"""YAML loading that keeps where each key came from, so a bad file gets "file:line: key: problem".

PyYAML's safe_load throws the node marks away. Here a SafeLoader subclass builds mappings as `LDict` and
sequences as `LList`, which remember the file, their own line, the line of each key or item and their
dotted path (``steps[2].purchase.amount``). Scalars stay plain Python values (strings, except true/false/null);
their line is the one their parent recorded. Used by the scenario loader and the host-simulation rules loader.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml


class ConfigError(Exception):
    """A bad scenario or rules file: names the file, the line and the key."""

    def __init__(self, file: str, line: int | None, key: str, message: str) -> None:
        self.file, self.line, self.key, self.message = file, line, key, message
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")


class LDict(dict):
    """A mapping that knows where it and each of its keys were written."""

    file: str = "<string>"
    line: int = 0
    path: str = ""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.lines: dict[Any, int] = {}

    def key_path(self, key: Any) -> str:
        return f"{self.path}.{key}" if self.path else str(key)

    def line_of(self, key: Any) -> int:
        return self.lines.get(key, self.line)

    def error(self, key: Any, message: str) -> ConfigError:
        """An error about `key` of this mapping (or about the mapping itself when key is None)."""
        if key is None:
            return ConfigError(self.file, self.line, self.path, message)
        return ConfigError(self.file, self.line_of(key), self.key_path(key), message)

    def allow(self, *keys: str) -> None:
        """Reject keys not in `keys` - a typo must not be silently ignored."""
        for k in self:
            if k not in keys:
                raise self.error(k, f"unknown key (expected one of: {', '.join(keys)})")


class LList(list):
    """A sequence that knows where it and each item were written."""

    file: str = "<string>"
    line: int = 0
    path: str = ""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.lines: list[int] = []

    def key_path(self, index: int) -> str:
        return f"{self.path}[{index}]"

    def line_of(self, index: int) -> int:
        return self.lines[index] if index < len(self.lines) else self.line

    def error(self, index: int | None, message: str) -> ConfigError:
        if index is None:
            return ConfigError(self.file, self.line, self.path, message)
        return ConfigError(self.file, self.line_of(index), self.key_path(index), message)


def _make_loader(file: str) -> type[yaml.SafeLoader]:
    class _Loader(yaml.SafeLoader):
        # ISO 8583 data is all digit strings where leading zeros matter (MTI 0200, code 00, PANs); YAML 1.1
        # would read 0200 as octal 128. So plain scalars stay strings; only true/false/null are resolved.
        yaml_implicit_resolvers: dict = {}

    _Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                  list("tTfF"))
    _Loader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"),
                                  ["~", "n", "N", ""])

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Any:
        out = LDict()
        out.file, out.line = file, node.start_mark.line + 1
        yield out
        loader.flatten_mapping(node)  # honour YAML merge keys (<<: *anchor)
        for knode, vnode in node.value:
            key = loader.construct_object(knode, deep=True)
            if not isinstance(key, str | int | float | bool):
                raise ConfigError(file, knode.start_mark.line + 1, "", "mapping keys must be scalars")
            if key in out:
                raise ConfigError(file, knode.start_mark.line + 1, str(key), "duplicate key")
            out[key] = loader.construct_object(vnode, deep=True)
            out.lines[key] = knode.start_mark.line + 1

    def construct_sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> Any:
        out = LList()
        out.file, out.line = file, node.start_mark.line + 1
        yield out
        for item in node.value:
            out.append(loader.construct_object(item, deep=True))
            out.lines.append(item.start_mark.line + 1)

    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    return _Loader


# A document may share nodes through aliases; expanded, a few lines can stand for 10^9 nodes ("billion
# laughs"), and a loader that walks the data would never finish. Scenario and rules files are small.
MAX_NODES = 100_000


def digits(value: Any) -> bool:
    """ASCII digits only: str.isdigit() also accepts '²' and other Unicode digits that int() refuses."""
    s = str(value)
    return s.isascii() and s.isdigit()


def _expanded_size(obj: Any, memo: dict[int, int], active: set[int]) -> int:
    """Nodes the document has once aliases are expanded (memoised per shared object); raises on a cycle."""
    if not isinstance(obj, dict | list):
        return 1
    key = id(obj)
    if key in memo:
        return memo[key]
    if key in active:
        raise ValueError("recursive alias")
    active.add(key)
    items = obj.values() if isinstance(obj, dict) else obj
    total = 1
    for v in items:
        total += _expanded_size(v, memo, active)
        if total > MAX_NODES:
            break
    active.discard(key)
    memo[key] = total
    return total


def _set_paths(obj: Any, path: str, seen: set[int]) -> None:
    # A shared (aliased) node keeps the path where it was first written; each object is walked once.
    if not isinstance(obj, LDict | LList) or id(obj) in seen:
        return
    seen.add(id(obj))
    obj.path = path
    if isinstance(obj, LDict):
        for k, v in obj.items():
            _set_paths(v, obj.key_path(k), seen)
    else:
        for i, v in enumerate(obj):
            _set_paths(v, obj.key_path(i), seen)


def loads(text: str, file: str = "<string>") -> Any:
    """Parse YAML text into LDict/LList/scalars. Every problem is a ConfigError (file and line when known)."""
    try:
        data = yaml.load(text, Loader=_make_loader(file))  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(file, line, "", f"YAML syntax: {exc.problem or exc.context}") from None
    except yaml.reader.ReaderError as exc:  # control characters and the like: a position, no mark
        line = text.count("\n", 0, exc.position) + 1
        raise ConfigError(file, line, "", f"character U+{exc.character:04X} is not allowed in YAML") from None
    except yaml.YAMLError as exc:
        raise ConfigError(file, None, "", f"YAML: {exc}") from None
    except RecursionError:
        raise ConfigError(file, None, "", "nesting too deep") from None
    try:
        size = _expanded_size(data, {}, set())
    except ValueError as exc:
        raise ConfigError(file, getattr(data, "line", None), "", str(exc)) from None
    except RecursionError:
        raise ConfigError(file, None, "", "nesting too deep") from None
    if size > MAX_NODES:
        raise ConfigError(file, getattr(data, "line", None), "",
                          f"the document expands to more than {MAX_NODES} nodes (aliases)")
    _set_paths(data, "", set())
    return data


def load_file(path: str | Path) -> Any:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), None, "", f"cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(str(path), line, "", f"not UTF-8 text (byte {exc.start})") from None
    return loads(text, str(path))
