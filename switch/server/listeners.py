"""Listener configuration (flags or a YAML config file) and starting the TCP listeners."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from switch.wire import Framing, load_dialect

_LISTEN_RE = re.compile(r"^(?P<dialect>[\w.-]+):(?P<framing>\w+)(?P<tpdu>:tpdu)?@(?P<host>[^:]*):(?P<port>\d+)$")


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file and the key."""


@dataclass
class ListenerConfig:
    name: str = "iso8583"
    host: str = "127.0.0.1"
    port: int = 8583
    dialect: str = "ascii87"
    framing: str = "len2"
    tpdu: bool = False
    max_frame: int = 8192
    idle_timeout: float = 300.0
    frame_timeout: float = 10.0
    rules: str | None = None
    record: str | None = None
    tls_cert: str | None = None  # PEM files; with a cert the listener speaks TLS
    tls_key: str | None = None
    tls_ca: str | None = None  # verify client certificates against this CA
    tls_client_auth: bool = False  # mutual TLS: a client certificate is required
    allowed: list[str] | None = None  # peer networks allowed to connect (None: any)
    trace: bool = False  # log a masked dump of every request (DEBUG)

    def tls_options(self):
        if not self.tls_cert:
            return None
        from switch.security.tls import server_tls_options

        return server_tls_options(self.tls_cert, self.tls_key or self.tls_cert, self.tls_ca, self.tls_client_auth)

    def framing_obj(self) -> Framing:
        return Framing(self.framing, tpdu=self.tpdu, max_frame=self.max_frame)

    def validate(self, where: str) -> None:
        try:
            load_dialect(self.dialect)
            self.framing_obj()
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"{where}: port {self.port} is out of range")
        try:
            self.tls_options()
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{where}: TLS: {exc}") from None


def parse_listen(text: str, index: int) -> ListenerConfig:
    """--listen DIALECT:FRAMING[:tpdu]@HOST:PORT"""
    m = _LISTEN_RE.match(text)
    if not m:
        raise ConfigError(f"--listen {text!r}: expected DIALECT:FRAMING[:tpdu]@HOST:PORT")
    cfg = ListenerConfig(name=f"iso8583-{index}", host=m["host"] or "127.0.0.1", port=int(m["port"]),
                         dialect=m["dialect"], framing=m["framing"], tpdu=bool(m["tpdu"]))
    cfg.validate(f"--listen {text}")
    return cfg


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file; its `listeners` list becomes ListenerConfig objects."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{line}: invalid YAML") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    known = {f.name for f in fields(ListenerConfig)}
    listeners = []
    for i, item in enumerate(doc.get("listeners") or []):
        where = f"{path}: listeners[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected a mapping")
        unknown = set(item) - known
        if unknown:
            raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        cfg = ListenerConfig(**{"name": f"iso8583-{i}", **item})
        cfg.validate(where)
        listeners.append(cfg)
    doc["listeners"] = listeners
    return doc
