"""AuthContext's values derived from the request: computed once, and again when a step assigns a new one."""

from __future__ import annotations

import dataclasses

import pytest

from switch.auth.context import AuthContext


def test_derived_values():
    ctx = AuthContext(request={"t": "0201", "3": "010000", "4": "000000001234", "41": "POS00001 ", "11": "000042",
                               "22": "071"})
    assert (ctx.mti, ctx.proc, ctx.txn_type, ctx.amount) == ("0200", "010000", "01", 1234)
    assert (ctx.tid, ctx.stan, ctx.chip) == ("POS00001", "000042", True)
    bare = AuthContext(request={"4": "12A"})
    assert (bare.mti, bare.proc, bare.txn_type, bare.amount, bare.tid, bare.stan, bare.chip) == \
        ("", "000000", "00", -1, "", "", False)


def test_a_new_request_is_derived_again():
    """The reversal takes the original's processing code by assigning a new request dict."""
    ctx = AuthContext(request={"t": "0400", "3": "000000", "4": "000000000100"})
    ctx.request = {**ctx.request, "3": "010000"}
    assert (ctx.proc, ctx.txn_type, ctx.mti) == ("010000", "01", "0400")
    copy = dataclasses.replace(ctx, rc="05")
    assert copy.txn_type == "01" and copy.request == ctx.request and copy.rc == "05"


def test_every_field_by_keyword_and_defaults_as_declared():
    """The hand-written __init__ takes what the dataclass's took and leaves the declared defaults."""
    req = {"t": "0200", "3": "000000"}
    ctx = AuthContext(request=req)
    for f in dataclasses.fields(AuthContext):
        if f.init and f.name not in ("request", "now"):
            want = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            assert getattr(ctx, f.name) == want, f.name
    assert ctx.response is not AuthContext(request=req).response  # one dict per request
    given = {f.name: object() for f in dataclasses.fields(AuthContext) if f.init and f.name != "request"}
    full = AuthContext(request=req, **given)
    assert all(getattr(full, name) is value for name, value in given.items())
    with pytest.raises(TypeError):
        AuthContext(request=req, mti="0200")  # derived, not a constructor argument
