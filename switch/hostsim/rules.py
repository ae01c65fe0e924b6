"""Host-simulation rules: a YAML file per listener, checked in order; the first matching rule wins.

    rules:
      - name: cents give the response code
        match: {mti: "0200", processing_code: "00", cents: true}
        action: {respond: cents}
      - name: slow host for one terminal
        match: {terminal: POS00002}
        action: {delay: 3s}          # then the real pipeline answers

Format and every key: docs/scenarios.md ("Host simulation rules"). The file is re-read when its mtime or
size changes; an edit that does not load keeps the previous rules (and `last_error` says why), so a typo
never leaves a listener without rules mid-test.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from switch.hostsim.actions import KINDS, Action
from switch.hostsim.yamlmarks import ConfigError, LDict, LList, digits, load_file

log = logging.getLogger("acqsim.hostsim")

RulesError = ConfigError

_MATCH_KEYS = ("mti", "processing_code", "amount", "cents", "pan", "terminal", "merchant", "present",
               "absent", "fields")
_DUR_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s)?\s*$")
_FIELD_RE = re.compile(r"^(?:[1-9][0-9]?|1[01][0-9]|12[0-8])$")


@dataclass
class Rule:
    name: str
    action: Action
    mti: tuple[str, ...] = ()
    processing: tuple[str, ...] = ()  # prefixes of field 3
    amount_min: int | None = None
    amount_max: int | None = None
    cents: tuple[str, ...] | bool = False  # True: any cents but 00; a tuple: only those
    pan: tuple[str, ...] = ()  # prefixes (BIN) or whole PANs
    terminal: tuple[str, ...] = ()
    merchant: tuple[str, ...] = ()
    present: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    fields: dict[str, re.Pattern[str]] = field(default_factory=dict)
    times: int | None = None  # only the first N matches (None: always)
    used: int = 0
    line: int = 0

    def matches(self, req: dict[str, str]) -> bool:
        if self.mti and req.get("t") not in self.mti:
            return False
        if self.processing and not req.get("3", "").startswith(self.processing):
            return False
        if self.amount_min is not None or self.amount_max is not None or self.cents:
            amount_text = req.get("4")
            if not amount_text or not digits(amount_text):
                return False
            amount = int(amount_text)
            if self.amount_min is not None and amount < self.amount_min:
                return False
            if self.amount_max is not None and amount > self.amount_max:
                return False
            cents = amount_text[-2:]
            if self.cents is True and cents == "00":
                return False
            if isinstance(self.cents, tuple) and cents not in self.cents:
                return False
        if self.pan and not req.get("2", _pan_from_track(req)).startswith(self.pan):
            return False
        if self.terminal and req.get("41", "").strip() not in self.terminal:
            return False
        if self.merchant and req.get("42", "").strip() not in self.merchant:
            return False
        if any(f not in req for f in self.present) or any(f in req for f in self.absent):
            return False
        return all(f in req and p.search(req[f]) for f, p in self.fields.items())


def _pan_from_track(req: dict[str, str]) -> str:
    track = req.get("35", "")
    for sep in ("=", "D"):
        if sep in track:
            return track.split(sep, 1)[0]
    return ""


class RuleSet:
    """The rules of one listener. `match(request)` returns the first matching rule's Action or None."""

    def __init__(self, path: str | Path | None, rules: list[Rule]) -> None:
        self.path = Path(path) if path else None
        self.rules = rules
        self.last_error: str | None = None
        self._stamp = self._stat()
        self._lock = threading.Lock()  # the pipeline may call from worker threads

    @classmethod
    def load(cls, path: str | Path) -> RuleSet:
        """Read a rules file. Raises RulesError (ConfigError) naming file, line and key."""
        return cls(path, parse_rules(load_file(path), str(path)))

    @classmethod
    def from_text(cls, text: str, name: str = "<rules>") -> RuleSet:
        from switch.hostsim.yamlmarks import loads

        return cls(None, parse_rules(loads(text, name), name))

    def _stat(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def reload_if_changed(self) -> bool:
        """Re-read the file when it changed; True when new rules were loaded."""
        stamp = self._stat()
        if stamp is None or stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            self.rules = parse_rules(load_file(self.path), str(self.path))
        except ConfigError as exc:
            self.last_error = str(exc)
            log.error("host-simulation rules not reloaded, keeping the previous ones: %s", exc)
            return False
        self.last_error = None
        log.info("host-simulation rules reloaded from %s (%d rules)", self.path, len(self.rules))
        return True

    def match(self, request: dict[str, str]) -> Action | None:
        with self._lock:
            self.reload_if_changed()
            for rule in self.rules:
                if rule.times is not None and rule.used >= rule.times:
                    continue
                if rule.matches(request):
                    rule.used += 1
                    return rule.action
        return None


def _strs(node: LDict, key: str) -> tuple[str, ...]:
    v = node[key]
    items = v if isinstance(v, list) else [v]
    for i, item in enumerate(items):
        if isinstance(item, dict | list) or item is None or isinstance(item, bool):
            raise (v.error(i, "expected a string") if isinstance(v, LList) else node.error(key, "expected a string"))
    return tuple(str(x) for x in items)


def _int(node: LDict, key: str, value: Any = None) -> int:
    v = node[key] if value is None else value
    if not digits(v):
        raise node.error(key, "expected a whole number (minor units for amounts)")
    return int(str(v))


def _ms(node: LDict, key: str) -> int:
    m = _DUR_RE.match(str(node[key]))
    if not m:
        raise node.error(key, "expected a duration: 500ms, 2s or a number of milliseconds")
    n = float(m.group(1))
    return int(n * 1000) if m.group(2) == "s" else int(n)


def parse_rules(doc: Any, file: str) -> list[Rule]:
    if doc is None:
        return []
    if not isinstance(doc, LDict):
        raise ConfigError(file, 1, "", "expected a mapping with a `rules:` list")
    doc.allow("rules")
    items = doc.get("rules") or LList()
    if not isinstance(items, LList):
        raise doc.error("rules", "expected a list of rules")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, LDict):
            raise items.error(i, "a rule is a mapping with match: and action:")
        item.allow("name", "match", "action", "times")
        name = str(item.get("name") or f"rule {i + 1}")
        if not isinstance(item.get("action"), LDict):
            raise item.error("action" if "action" in item else None, "a rule needs an action: mapping")
        rule = Rule(name=name, action=_action(item["action"], name), line=item.line)
        if item.get("times") is not None:
            rule.times = _int(item, "times")
        m = item.get("match")
        if m is not None:
            if not isinstance(m, LDict):
                raise item.error("match", "expected a mapping of conditions")
            _conditions(rule, m)
        out.append(rule)
    return out


def _conditions(rule: Rule, m: LDict) -> None:
    m.allow(*_MATCH_KEYS)
    if "mti" in m:
        rule.mti = _strs(m, "mti")
        for v in rule.mti:
            if not re.fullmatch(r"[0-9]{4}", v):
                raise m.error("mti", f"expected 4 digits, got {v!r}")
    if "processing_code" in m:
        rule.processing = _strs(m, "processing_code")
    if "pan" in m:
        rule.pan = _strs(m, "pan")
        if not all(digits(p) for p in rule.pan):
            raise m.error("pan", "expected digits (a BIN prefix or a whole PAN)")
    if "terminal" in m:
        rule.terminal = _strs(m, "terminal")
    if "merchant" in m:
        rule.merchant = _strs(m, "merchant")
    for key in ("present", "absent"):
        if key in m:
            vals = _strs(m, key)
            if not all(_FIELD_RE.match(v) for v in vals):
                raise m.error(key, "expected field numbers 1-128")
            setattr(rule, key, vals)
    if "amount" in m:
        a = m["amount"]
        if isinstance(a, LDict):
            a.allow("min", "max")
            rule.amount_min = _int(a, "min") if "min" in a else None
            rule.amount_max = _int(a, "max") if "max" in a else None
        else:
            rule.amount_min = rule.amount_max = _int(m, "amount")
    if "cents" in m:
        c = m["cents"]
        if c is True:
            rule.cents = True
        elif c is False:
            rule.cents = False
        else:
            vals = _strs(m, "cents")
            if not all(re.fullmatch(r"[0-9]{2}", v) for v in vals):
                raise m.error("cents", "expected true or two-digit values like \"51\"")
            rule.cents = vals
    if "fields" in m:
        f = m["fields"]
        if not isinstance(f, LDict):
            raise m.error("fields", "expected a mapping of field -> regular expression")
        for k, v in f.items():
            if not _FIELD_RE.match(str(k)):
                raise f.error(k, "expected a field number 1-128")
            try:
                rule.fields[str(k)] = re.compile(str(v))
            except re.error as exc:
                raise f.error(k, f"bad regular expression: {exc}") from None


def _action(a: LDict, name: str) -> Action:
    kinds = [k for k in a if k in KINDS]
    if len(kinds) != 1:
        raise a.error(None, f"an action needs exactly one of: {', '.join(KINDS)} (found {kinds or 'none'})")
    kind = kinds[0]
    a.allow(kind, "code", "fields")
    act = Action(kind=kind, rule=name)
    v = a[kind]
    if kind == "respond":
        if isinstance(v, LDict):
            v.allow("code", "fields")
            if "code" not in v:
                raise v.error(None, "respond needs code:")
            act.code = _code(v, "code")
            if "fields" in v:
                act.fields = _fields(v, "fields")
        else:
            act.code = _code(a, kind)
    elif kind in ("delay", "late"):
        act.delay_ms = _ms(a, kind)
    elif v is not True:
        raise a.error(kind, f"write it as `{kind}: true`")
    if "code" in a:
        act.code = _code(a, "code")
    if "fields" in a:
        act.fields.update(_fields(a, "fields"))
    return act


def _code(node: LDict, key: str) -> str:
    v = str(node[key])
    if v != "cents" and not re.fullmatch(r"[0-9A-Z]{2}", v):
        raise node.error(key, f"expected a two-character response code or cents, got {v!r}")
    return v


def _fields(node: LDict, key: str) -> dict[str, Any]:
    f = node[key]
    if not isinstance(f, LDict):
        raise node.error(key, "expected a mapping of field -> value")
    out: dict[str, Any] = {}
    for k, v in f.items():
        if not _FIELD_RE.match(str(k)):
            raise f.error(k, "expected a field number 1-128")
        if isinstance(v, dict | list):
            raise f.error(k, "expected a string (or null to remove the field)")
        out[str(k)] = None if v is None else str(v)
    return out
