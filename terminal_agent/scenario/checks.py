"""Load-time checks of a step's options and expectations (used by loader.py); errors name file, line, key."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from switch.hostsim.yamlmarks import LDict, digits
from terminal_agent.scenario.model import EXPECT_OPS, Expectation

_CARD_TXN = ("card", "amount", "amount_minor", "pin", "entry", "fields", "currency", "arqc")
_PARAM_KEYS: dict[str, tuple[str, ...]] = {
    "purchase": _CARD_TXN, "refund": _CARD_TXN, "preauth": _CARD_TXN, "cash": _CARD_TXN,
    "balance": _CARD_TXN, "transfer": _CARD_TXN + ("to_card",),
    "reversal": ("original", "amount", "amount_minor", "fields", "advice"),
    "completion": ("original", "amount", "amount_minor", "fields"),
    "echo": ("fields",), "sign_on": ("fields",),
    "batch_close": ("totals", "fields"),
    "raw": ("mti", "fields", "defaults", "hex"),
}
_TOTAL_KEYS = ("credits", "credits_amount", "debits", "debits_amount", "credit_reversals",
               "credit_reversals_amount", "debit_reversals", "debit_reversals_amount")
ENTRIES = ("chip", "contactless", "magstripe", "manual", "fallback")
FIELD_RE = re.compile(r"^(?:[1-9][0-9]?|1[01][0-9]|12[0-8])$")


def has_var(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def parse_amount(value: Any, exponent: int = 2) -> int:
    """Major units ('12.34') -> minor units (1234). Raises ValueError."""
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"expected an amount in major units like 12.34, got {value!r}") from None
    minor = d.scaleb(exponent)
    if minor != minor.to_integral_value() or minor < 0:
        raise ValueError(f"amount {value!r} has more than {exponent} decimals or is negative")
    return int(minor)


def check_fields(node: LDict, key: str) -> dict[str, str]:
    f = node[key]
    if not isinstance(f, LDict):
        raise node.error(key, "expected a mapping of field number -> value")
    out: dict[str, Any] = {}
    for k, v in f.items():
        ks = str(k)
        if ks != "t" and not FIELD_RE.match(ks):
            raise f.error(k, "expected a field number 1-128 or t (MTI)")
        if isinstance(v, dict | list):
            raise f.error(k, "expected a string value (or null to remove the field)")
        out[ks] = None if v is None else str(v)
    return out


def check_params(item: LDict, kind: str, cards: dict[str, Any], ids: set[str]) -> None:
    p = item[kind]
    if p is None:
        p = LDict()
        item[kind] = p
    if not isinstance(p, LDict):
        raise item.error(kind, f"expected a mapping of {kind} options ({', '.join(_PARAM_KEYS[kind])})")
    p.allow(*_PARAM_KEYS[kind])
    for key in ("card", "to_card"):
        if p.get(key) is not None and not has_var(p[key]) and str(p[key]) not in cards:
            raise p.error(key, f"unknown card {p[key]!r} (cards: {', '.join(cards) or 'none'})")
    if kind in ("purchase", "refund", "preauth", "cash", "transfer") and p.get("card") is None:
        raise p.error(None, f"a {kind} needs card:")
    if kind == "balance" and p.get("card") is None:
        raise p.error(None, "a balance inquiry needs card:")
    if p.get("amount") is not None and p.get("amount_minor") is not None:
        raise p.error("amount_minor", "give amount or amount_minor, not both")
    if p.get("amount") is not None and not has_var(p["amount"]):
        try:
            parse_amount(p["amount"])
        except ValueError as exc:
            raise p.error("amount", str(exc)) from None
    if p.get("amount_minor") is not None and not has_var(p["amount_minor"]) and not digits(p["amount_minor"]):
        raise p.error("amount_minor", "expected a whole number of minor units")
    if kind in ("purchase", "refund", "preauth", "cash", "transfer", "completion") and \
            p.get("amount") is None and p.get("amount_minor") is None and kind != "completion":
        raise p.error(None, f"a {kind} needs amount: (major units, 12.34) or amount_minor:")
    if p.get("entry") is not None and p["entry"] not in ENTRIES:
        raise p.error("entry", f"expected one of {', '.join(ENTRIES)}")
    if p.get("pin") is not None and not isinstance(p["pin"], bool) and not has_var(p["pin"]) and \
            not (digits(p["pin"]) and 4 <= len(str(p["pin"])) <= 12):
        raise p.error("pin", "expected true, false or 4-12 digits")
    if p.get("arqc") is not None and p["arqc"] not in ("good", "bad", "none"):
        raise p.error("arqc", "expected good, bad or none")
    if kind in ("reversal", "completion"):
        orig = p.get("original")
        if orig is None:
            raise p.error(None, f"a {kind} needs original: (the id of an earlier step)")
        if not has_var(orig) and str(orig) not in ids:
            raise p.error("original", f"no earlier step with id {orig!r}")
    if kind == "raw" and p.get("hex") is not None:
        h = str(p["hex"]).replace(" ", "")
        if "mti" in p or "fields" in p or not re.fullmatch(r"(?:[0-9A-Fa-f]{2})+", h):
            raise p.error("hex", "hex: is the whole message body as hex digits, without mti: or fields:")
    elif kind == "raw":
        mti = p.get("mti")
        if mti is None or not re.fullmatch(r"[0-9]{4}", str(mti)) and not has_var(mti):
            raise p.error("mti" if "mti" in p else None, "a raw step needs mti: (4 digits) or hex:")
    if kind == "batch_close" and p.get("totals") not in (None, "auto"):
        t = p["totals"]
        if not isinstance(t, LDict):
            raise p.error("totals", "expected auto or a mapping of " + ", ".join(_TOTAL_KEYS))
        t.allow(*_TOTAL_KEYS)
    if p.get("fields") is not None:
        p["fields"] = check_fields(p, "fields")


def check_expect(item: LDict) -> list[Expectation]:
    node = item["expect"]
    if not isinstance(node, LDict):
        raise item.error("expect", "expected a mapping of field -> expectation")
    out = []
    for k, spec in node.items():
        fieldno = "t" if str(k) in ("t", "mti") else str(k)
        if fieldno != "t" and not FIELD_RE.match(fieldno):
            raise node.error(k, "expected a field number 1-128 or mti")
        line = node.line_of(k)
        if not isinstance(spec, dict | list):
            out.append(Expectation(fieldno, "equal", None if spec is None else str(spec), node.file, line))
            continue
        if not isinstance(spec, LDict) or len(spec) != 1:
            raise node.error(k, f"expected a value or a mapping with one of: {', '.join(EXPECT_OPS)}")
        (op, value), = spec.items()
        if op not in EXPECT_OPS:
            raise spec.error(op, f"unknown expectation (expected one of: {', '.join(EXPECT_OPS)})")
        if op in ("present", "absent", "echo") and value is not True:
            raise spec.error(op, "write it as `" + op + ": true`")
        if op == "regex":
            try:
                re.compile(str(value))
            except re.error as exc:
                raise spec.error(op, f"bad regular expression: {exc}") from None
        if op == "one_of":
            if not isinstance(value, list) or not value:
                raise spec.error(op, "expected a non-empty list")
            value = [str(v) for v in value]
        elif op in ("equal", "regex", "not"):
            value = str(value)
        out.append(Expectation(fieldno, op, value, node.file, line))
    return out
