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


def _set_paths(obj: Any, path: str) -> None:
    if isinstance(obj, LDict):
        obj.path = path
        for k, v in obj.items():
            _set_paths(v, obj.key_path(k))
    elif isinstance(obj, LList):
        obj.path = path
        for i, v in enumerate(obj):
            _set_paths(v, obj.key_path(i))


def loads(text: str, file: str = "<string>") -> Any:
    """Parse YAML text into LDict/LList/scalars; syntax errors become ConfigError with the line."""
    try:
        data = yaml.load(text, Loader=_make_loader(file))  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(file, line, "", f"YAML syntax: {exc.problem or exc.context}") from None
    _set_paths(data, "")
    return data


def load_file(path: str | Path) -> Any:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), None, "", f"cannot read: {exc.strerror}") from None
    return loads(text, str(path))
