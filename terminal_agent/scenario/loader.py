"""Load and check scenario files. Every problem is a ConfigError naming the file, line and key.

The file format is documented in docs/scenarios.md. Loading checks everything that can be checked before
the run (kinds, keys, card names, step ids referenced by reversals, amounts, durations), so a typo fails
in a second instead of after a long run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from switch.hostsim.yamlmarks import ConfigError, LDict, LList, digits, load_file
from terminal_agent.scenario import fixtures as fx
from terminal_agent.scenario.checks import (
    ENTRIES,
    FIELD_RE,
    check_expect,
    check_fields,
    check_params,
    parse_amount,
)
from terminal_agent.scenario.model import (
    MESSAGE_KINDS,
    OUTCOMES,
    STEP_KINDS,
    Card,
    Scenario,
    Session,
    Step,
    Terminal,
)

__all__ = ["ConfigError", "load_scenario", "parse_duration", "parse_amount"]

_TOP_KEYS = ("name", "description", "tags", "include", "terminal", "cards", "variables", "timeout",
             "dialect", "framing", "target", "steps")
_COMMON_STEP_KEYS = ("name", "id", "expect", "capture", "timeout", "repeat", "outcome")
_TERMINAL_KEYS = ("fixture", "tid", "mid", "currency", "kind", "tpk", "country", "acquirer", "fields")
_CARD_KEYS = ("fixture", "pan", "expiry", "service_code", "pin", "track2", "icc_track2", "cvv", "psn", "scheme",
              "imk_ac", "entry")
_DUR_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m)?\s*$")


def parse_duration(value: Any) -> float:
    """'500ms', '2s', '1.5', '1m' -> seconds. Raises ValueError."""
    m = _DUR_RE.match(str(value))
    if not m:
        raise ValueError(f"expected a duration like 500ms, 2s or 1.5 (seconds), got {value!r}")
    n = float(m.group(1))
    return {"ms": n / 1000, "s": n, None: n, "m": n * 60}[m.group(2)]


class _Ctx:
    def __init__(self, file: str, stack: tuple[str, ...]) -> None:
        self.file, self.stack = file, stack
        self.cards: dict[str, Card] = {}
        self.ids: set[str] = set()


def load_scenario(path: str | Path) -> Scenario:
    """Read one scenario file (following its includes). Raises ConfigError."""
    path = Path(path)
    data = _load_mapping(path, ())
    ctx = _Ctx(str(path), (str(path.resolve()),))
    data.allow(*_TOP_KEYS)
    merged = _merge_includes(data, path, ctx)
    terminal = _terminal(merged["terminal"]) if merged.get("terminal") is not None else Terminal()
    cards_node = merged.get("cards") or LDict()
    if not isinstance(cards_node, dict):
        raise _err_at(merged, "cards", "expected a mapping of card name -> card")
    for name, node in cards_node.items():
        ctx.cards[str(name)] = _card(cards_node, str(name), node)
    variables = merged.get("variables") or {}
    if not isinstance(variables, dict):
        raise _err_at(merged, "variables", "expected a mapping of name -> value")
    timeout = 10.0
    if merged.get("timeout") is not None:
        timeout = _dur(merged, "timeout")
    steps_node = data.get("steps")
    if not isinstance(steps_node, list) or not steps_node:
        raise data.error("steps" if "steps" in data else None, "a scenario needs a non-empty list of steps")
    steps = _steps(steps_node, ctx)
    tags = data.get("tags") or []
    if not isinstance(tags, list):
        raise data.error("tags", "expected a list")
    target = _opt_str(merged.get("target"))
    if target is not None:
        h, sep, port = target.rpartition(":")
        if not sep or not digits(port):
            raise _err_at(merged, "target", "expected HOST:PORT")
    return Scenario(
        name=str(data.get("name") or path.stem), file=str(path), terminal=terminal, cards=ctx.cards,
        steps=steps, variables={str(k): str(v) for k, v in variables.items()}, timeout=timeout,
        description=str(data.get("description") or ""), tags=[str(t) for t in tags],
        dialect=_opt_str(merged.get("dialect")), framing=_opt_str(merged.get("framing")),
        target=target,
    )


def _opt_str(v: Any) -> str | None:
    return None if v is None else str(v)


def _err_at(node: Any, key: Any, message: str) -> ConfigError:
    if isinstance(node, LDict | LList):
        return node.error(key, message)
    return ConfigError("<scenario>", None, str(key), message)


def _load_mapping(path: Path, stack: tuple[str, ...]) -> LDict:
    if str(path.resolve()) in stack:
        raise ConfigError(str(path), None, "include", "include cycle: " + " -> ".join(stack + (str(path),)))
    data = load_file(path)
    if not isinstance(data, LDict):
        raise ConfigError(str(path), getattr(data, "line", 1) or 1, "", "expected a mapping at the top level")
    return data


def _merge_includes(data: LDict, path: Path, ctx: _Ctx) -> dict[str, Any]:
    """Top-level `include:` files give defaults (terminal, cards, variables...); this file wins."""
    inc = data.get("include")
    if inc is None:
        return data
    paths = [inc] if isinstance(inc, str) else inc
    if not isinstance(paths, list):
        raise data.error("include", "expected a file name or a list of file names")
    merged: dict[str, Any] = {}
    for i, name in enumerate(paths):
        if not isinstance(name, str):
            raise _err_at(paths, i, "expected a file name")
        ipath = path.parent / name
        if not ipath.is_file():
            raise (_err_at(paths, i, f"included file not found: {ipath}") if isinstance(paths, LList)
                   else data.error("include", f"included file not found: {ipath}"))
        inc_data = _load_mapping(ipath, ctx.stack)
        inc_data.allow("terminal", "cards", "variables", "timeout", "dialect", "framing", "target", "include")
        sub = _merge_includes(inc_data, ipath, _Ctx(ctx.file, ctx.stack + (str(ipath.resolve()),)))
        for k, v in sub.items():
            if k in ("cards", "variables") and isinstance(v, dict):
                base = merged.get(k) or LDict()
                combined = LDict()
                combined.update(base)
                combined.update(v)
                for src in (base, v):
                    combined.lines.update(getattr(src, "lines", {}))
                merged[k] = combined
                # keep per-card nodes: they carry their own file and lines for errors
            else:
                merged[k] = v
    for k, v in data.items():
        if k in ("cards", "variables") and isinstance(v, dict) and isinstance(merged.get(k), dict):
            combined = LDict()
            combined.update(merged[k])
            combined.update(v)
            merged[k] = combined
        else:
            merged[k] = v
    return merged


def _dur(node: LDict, key: str) -> float:
    try:
        return parse_duration(node[key])
    except ValueError as exc:
        raise node.error(key, str(exc)) from None


def _terminal(node: Any) -> Terminal:
    if not isinstance(node, LDict):
        raise ConfigError("<scenario>", None, "terminal", "expected a mapping")
    node.allow(*_TERMINAL_KEYS)
    t = Terminal()
    if node.get("fixture") is not None:
        found = fx.terminal(str(node["fixture"]))
        if found is None:
            raise node.error("fixture", f"no terminal {node['fixture']!r} in fixtures/terminals.yaml")
        t = found
    for key in ("tid", "mid", "currency", "kind", "tpk", "country", "acquirer"):
        if node.get(key) is not None:
            setattr(t, key, str(node[key]))
    if t.kind not in ("pos", "atm"):
        raise node.error("kind", "expected pos or atm")
    if node.get("fields") is not None:
        t.extra = check_fields(node, "fields")
    return t


def _card(parent: dict, name: str, node: Any) -> Card:
    if not isinstance(node, LDict):
        raise _err_at(parent, name, "expected a mapping with pan, expiry ... or fixture")
    node.allow(*_CARD_KEYS)
    if node.get("fixture") is not None:
        card = fx.card(str(node["fixture"]), name)
        if card is None:
            raise node.error("fixture", f"no card {node['fixture']!r} in fixtures/cards.yaml")
    elif node.get("pan") is not None:
        card = Card(name=name, pan=str(node["pan"]))
    else:
        raise node.error(None, f"card {name!r} needs pan or fixture")
    for key in _CARD_KEYS[2:]:
        if node.get(key) is not None:
            setattr(card, key, str(node[key]))
    if node.get("pan") is not None:
        card.pan = str(node["pan"])
    if not digits(card.pan) or not 12 <= len(card.pan) <= 19:
        raise node.error("pan" if "pan" in node else "fixture", "PAN must be 12 to 19 digits")
    if card.entry not in ENTRIES:
        raise node.error("entry", f"expected one of {', '.join(ENTRIES)}")
    return card


def _steps(node: LList, ctx: _Ctx) -> list[Step]:
    out: list[Step] = []
    for i, item in enumerate(node):
        out.extend(_step(node, i, item, ctx))
    return out


def _step(parent: LList, index: int, item: Any, ctx: _Ctx) -> list[Step]:
    if not isinstance(item, LDict):
        raise parent.error(index, f"a step is a mapping with one of: {', '.join(STEP_KINDS)}")
    kinds = [k for k in item if k in STEP_KINDS]
    if len(kinds) != 1:
        raise item.error(None, f"a step needs exactly one of: {', '.join(STEP_KINDS)} (found {kinds or 'none'})")
    kind = kinds[0]
    item.allow(kind, *_COMMON_STEP_KEYS)
    params = item[kind]
    if kind == "include":
        return _include_steps(item, ctx)
    step = Step(kind=kind, params=params, name=str(item.get("name") or kind), file=item.file, line=item.line)
    if item.get("id") is not None:
        step.id = str(item["id"])
        if step.id in ctx.ids:
            raise item.error("id", f"step id {step.id!r} used twice")
    if item.get("timeout") is not None:
        step.timeout = _dur(item, "timeout")
    if item.get("repeat") is not None:
        if not digits(item["repeat"]) or int(item["repeat"]) < 1:
            raise item.error("repeat", "expected a whole number >= 1")
        step.repeat = int(item["repeat"])
    if item.get("outcome") is not None:
        if item["outcome"] not in OUTCOMES:
            raise item.error("outcome", f"expected one of {', '.join(OUTCOMES)}")
        step.outcome = str(item["outcome"])
    if kind == "wait":
        try:
            step.wait_s = parse_duration(params)
        except ValueError as exc:
            raise item.error(kind, str(exc)) from None
    elif kind == "parallel":
        step.sessions = _sessions(item, ctx)
    else:
        check_params(item, kind, ctx.cards, ctx.ids)
    if item.get("expect") is not None:
        if kind not in MESSAGE_KINDS:
            raise item.error("expect", f"a {kind} step has no answer to check")
        step.expect = check_expect(item)
    if item.get("capture") is not None:
        cap = item["capture"]
        if not isinstance(cap, LDict):
            raise item.error("capture", "expected a mapping of variable -> field (37, request.11)")
        for var, ref in cap.items():
            r = str(ref)
            fieldno = r.split(".", 1)[1] if r.startswith(("request.", "response.")) else r
            if fieldno != "t" and not FIELD_RE.match(fieldno):
                raise cap.error(var, "expected a field number, request.N or response.N")
            step.capture[str(var)] = r
    if step.id:
        ctx.ids.add(step.id)
    return [step]


def _include_steps(item: LDict, ctx: _Ctx) -> list[Step]:
    name = item["include"]
    if not isinstance(name, str):
        raise item.error("include", "expected a file name")
    ipath = Path(item.file).parent / name
    if not ipath.is_file():
        raise item.error("include", f"included file not found: {ipath}")
    data = _load_mapping(ipath, ctx.stack)
    data.allow("name", "description", "steps")
    if not isinstance(data.get("steps"), LList):
        raise data.error("steps" if "steps" in data else None, "an included step file needs a list of steps")
    sub = _Ctx(ctx.file, ctx.stack + (str(ipath.resolve()),))
    sub.cards, sub.ids = ctx.cards, ctx.ids
    return _steps(data["steps"], sub)


def _sessions(item: LDict, ctx: _Ctx) -> list[Session]:
    node = item["parallel"]
    if isinstance(node, LDict) and "copies" in node:
        node.allow("copies", "steps")
        if not digits(node["copies"]) or int(node["copies"]) < 1:
            raise node.error("copies", "expected a whole number >= 1")
        if not isinstance(node.get("steps"), LList):
            raise node.error("steps" if "steps" in node else None, "expected a list of steps")
        steps = _steps(node["steps"], _scoped(ctx))
        return [Session(name=f"copy {i + 1}", steps=steps) for i in range(int(node["copies"]))]
    if not isinstance(node, LList) or not node:
        raise item.error("parallel", "expected a list of sessions or {copies: N, steps: [...]}")
    out = []
    for i, s in enumerate(node):
        if not isinstance(s, LDict):
            raise node.error(i, "a session is a mapping with steps (and optional name, terminal)")
        s.allow("name", "terminal", "steps")
        if not isinstance(s.get("steps"), LList):
            raise s.error("steps" if "steps" in s else None, "expected a list of steps")
        term = _terminal(s["terminal"]) if s.get("terminal") is not None else None
        out.append(Session(name=str(s.get("name") or f"session {i + 1}"), steps=_steps(s["steps"], _scoped(ctx)),
                           terminal=term))
    return out


def _scoped(ctx: _Ctx) -> _Ctx:
    # A session sees the ids defined before the parallel block; its own ids stay its own.
    sub = _Ctx(ctx.file, ctx.stack)
    sub.cards, sub.ids = ctx.cards, set(ctx.ids)
    return sub
