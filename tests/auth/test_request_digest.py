"""The journal's request digest (duplicate detection): keyed, canonical, collision-safe, and rows written
with the older JSON digest still answer their repeats."""

from __future__ import annotations

import json

from sqlalchemy import text

from switch.auth.context import AuthContext
from switch.auth.journal import legacy_digest, request_digest
from switch.issuer.pan import PanVault
from tests.auth.harness import FX, request

VAULT = PanVault.from_hex(FX.card_data_key())


def run(world, msg):
    runner, _s, _f = world
    ctx = AuthContext(request=dict(msg))
    return runner.run(ctx), ctx


def test_same_content_same_digest_whatever_the_order_or_repeat_mti():
    msg = request("good-visa")
    d = request_digest(VAULT, msg)
    assert len(d) == 64 and int(d, 16) >= 0
    assert request_digest(VAULT, dict(reversed(list(msg.items())))) == d
    assert request_digest(VAULT, dict(msg, t="0201")) == d
    assert request_digest(VAULT, dict(msg, **{"4": "000000009999"})) != d


def test_moving_characters_between_fields_or_into_keys_changes_the_digest():
    base = {"t": "0200", "41": "AB", "42": "C"}
    variants = [
        {"t": "0200", "41": "A", "42": "BC"},  # a character moved across the field boundary
        {"t": "0200", "41": "AB42C"},  # the next key folded into a value
        {"t": "0200", "41": "AB", "42": "C", "43": ""},  # an empty field is still a field
        {"t": "0200", "4": "1AB", "42": "C"},  # key digits moved into the value
    ]
    digests = {request_digest(VAULT, base)} | {request_digest(VAULT, v) for v in variants}
    assert len(digests) == len(variants) + 1


def test_digest_is_keyed_and_apart_from_the_pan_lookup_hash():
    msg = {"t": "0200", "2": "4761739001010010"}
    other = PanVault(bytes(range(32)))
    assert request_digest(VAULT, msg) != request_digest(other, msg)
    assert request_digest(VAULT, msg) not in (VAULT.lookup_hash(msg["2"]), legacy_digest(VAULT, msg))


def test_non_text_values_still_get_a_digest():
    assert request_digest(VAULT, {"t": "0200", "4": 5}) != request_digest(VAULT, {"t": "0200", "4": "5"})


def test_row_with_the_older_json_digest_still_answers_its_repeat(world):
    """Rows journalled before the digest changed (within the 24 h STAN window after an upgrade): the
    same request again gets the stored answer, other content under the same STAN still gets 94."""
    _runner, services, _funds = world
    msg = request("good-visa")
    first, ctx = run(world, msg)
    assert first["39"] == "00"
    with services.store.engine.begin() as conn:
        conn.execute(text("UPDATE auth_requests SET digest = :d WHERE tid = :t AND stan = :s"),
                     {"d": legacy_digest(VAULT, msg), "t": ctx.tid, "s": ctx.stan})
    again, ctx2 = run(world, dict(msg, t="0201"))
    assert again == first and ctx2.stored_answer is not None
    assert run(world, dict(msg, **{"4": "000000009999"}))[0]["39"] == "94"


def test_stored_answer_text_is_what_json_dumps_wrote():
    from switch.auth.journal import _encode_json

    for answer in ({}, {"39": "00", "37": "612345000123", "38": "ABC123"}, {"39": "05", "55": '91"\\\n\u00e9'},
                   {"39": "00", "54": 5}):
        assert _encode_json(answer) == json.dumps(answer)
