"""Expectations on answer fields and captures of values for later steps."""

from __future__ import annotations

import re
from dataclasses import replace

from terminal_agent.scenario.model import Expectation, MissingVariable, substitute

# Fields whose values are card data: failure messages show them masked (the value is never needed to
# understand why the step failed).
_SECRET = {"35", "36", "45", "52", "55", "64", "128"}


def _show(fieldno: str, value: str | None) -> str:
    if value is None:
        return "absent"
    if fieldno == "2" and len(value) > 10:
        return repr(value[:6] + "*" * (len(value) - 10) + value[-4:])
    if fieldno in _SECRET:
        return f"<{len(value)} chars>"
    return repr(value)


def _get(msg: dict | None, fieldno: str) -> str | None:
    if msg is None:
        return None
    v = msg.get(fieldno)
    return None if v is None else str(v)


def check(expectations: list[Expectation], request: dict, response: dict,
          variables: dict[str, str] | None = None) -> list[str]:
    """Failure messages, one per unmet expectation (empty when all hold). Values may use ${captures}."""
    failures = []
    for e in expectations:
        if variables is not None and e.value is not None:
            try:
                e = replace(e, value=substitute(e.value, variables))
            except MissingVariable as exc:
                failures.append(f"field {e.field}: variable ${{{exc.args[0]}}} is not set ({e.file}:{e.line})")
                continue
        got = _get(response, e.field)
        ok = True
        want = ""
        if e.op == "equal":
            ok, want = (got == e.value), _show(e.field, e.value)
        elif e.op == "not":
            ok, want = (got != e.value), "not " + _show(e.field, e.value)
        elif e.op == "regex":
            ok, want = (got is not None and re.search(e.value, got) is not None), f"to match /{e.value}/"
        elif e.op == "present":
            ok, want = got is not None, "present"
        elif e.op == "absent":
            ok, want = got is None, "absent"
        elif e.op == "one_of":
            ok, want = got in e.value, "one of " + ", ".join(e.value)
        elif e.op == "echo":
            sent = _get(request, e.field)
            ok, want = (got == sent), f"the request's value {_show(e.field, sent)}"
        if not ok:
            name = "MTI" if e.field == "t" else f"field {e.field}"
            failures.append(f"{name}: expected {want}, got {_show(e.field, got)} ({e.file}:{e.line})")
    return failures


def capture(spec: dict[str, str], request: dict, response: dict | None, variables: dict[str, str]) -> list[str]:
    """Store the named fields into `variables`; return messages for fields that were not there."""
    missing = []
    for var, ref in spec.items():
        source, fieldno = ("response", ref)
        if "." in ref:
            source, fieldno = ref.split(".", 1)
        value = _get(request if source == "request" else response, fieldno)
        if value is None:
            missing.append(f"capture {var}: {source} field {fieldno} is absent")
        else:
            variables[var] = value
    return missing
