"""Access control over the WHOLE route table (issue 8): every route is tried without a token, with a wrong,
a malformed and an expired token, with another merchant's token, with the owner's and the operator's.
A route added to switch.http.api.ROUTES without an example here fails test_every_route_has_an_example."""

from __future__ import annotations

import pytest

from switch.http.api import ROUTES
from tests.http.world import EXPIRED_MERCHANT1, EXPIRED_OPERATOR, MERCHANT, MID1, MID2, OPERATOR

# Concrete values that belong to merchant 1 (fixtures: POS00001 is merchant 1's terminal).
EXAMPLE_PARAMS = {"mid": MID1, "tid": "POS00001", "card_id": "1", "txn_id": None}  # txn_id: found at run time
LISTS_FOR_OTHERS = {"/api/merchants", "/api/terminals", "/api/wallets", "/api/transactions", "/api/batches",
                    "/api/settlements", "/api/payouts", "/api/statements"}
SELF_ROUTES = {"/api/whoami"}  # answers about the caller itself: nobody else's data to refuse
PATTERNS = [r.pattern for r in ROUTES]
ACCESS = {r.pattern: r.access for r in ROUTES}


@pytest.fixture(scope="module")
def mid1_txn(http) -> str:
    items = http(f"/api/transactions?mid={MID1}&limit=1", OPERATOR).json()["items"]
    assert items and items[0]["mid"] == MID1
    return str(items[0]["id"])


def example(pattern: str, txn_id: str, owner_query: bool = False) -> str:
    path = pattern
    for name, value in {**EXAMPLE_PARAMS, "txn_id": txn_id}.items():
        path = path.replace("{" + name + "}", value)
    if owner_query and pattern in LISTS_FOR_OTHERS:
        path += f"?mid={MID1}"
    return path


def test_every_route_has_an_example():
    for pattern in PATTERNS:
        path = example(pattern, "1")
        assert "{" not in path, f"route {pattern} has a parameter the access tests do not know"
        assert ACCESS[pattern] in ("public", "operator", "scoped")


@pytest.mark.parametrize("pattern", PATTERNS)
def test_no_token_is_401(http, mid1_txn, pattern):
    r = http(example(pattern, mid1_txn))
    if ACCESS[pattern] == "public":
        assert r.status == 200
        return
    assert r.status == 401, r.body
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["error"] == "unauthorized"


@pytest.mark.parametrize("bad", ["wrong-token", OPERATOR + "x", OPERATOR.upper(), ""], ids=["wrong", "suffix",
                                                                                          "case", "empty"])
@pytest.mark.parametrize("pattern", PATTERNS)
def test_wrong_token_is_401(http, mid1_txn, pattern, bad):
    r = http(example(pattern, mid1_txn), bad)
    assert r.status == (200 if ACCESS[pattern] == "public" else 401), r.body


@pytest.mark.parametrize("pattern", PATTERNS)
def test_malformed_authorization_is_401(http, mid1_txn, pattern):
    # The right token under another scheme, or in the query string, is not a bearer token.
    for headers, suffix in (({"Authorization": f"Basic {OPERATOR}"}, ""), ({"Authorization": OPERATOR}, ""),
                            ({}, f"{'&' if '?' in pattern else '?'}token={OPERATOR}")):
        r = http(example(pattern, mid1_txn) + suffix, headers=headers)
        assert r.status == (200 if ACCESS[pattern] == "public" else 401), (headers, suffix, r.body)


@pytest.mark.parametrize("token", [EXPIRED_OPERATOR, EXPIRED_MERCHANT1], ids=["operator", "merchant"])
@pytest.mark.parametrize("pattern", PATTERNS)
def test_expired_token_is_401(http, mid1_txn, pattern, token):
    r = http(example(pattern, mid1_txn, owner_query=True), token)
    assert r.status == (200 if ACCESS[pattern] == "public" else 401), r.body


@pytest.mark.parametrize("pattern", PATTERNS)
def test_other_merchants_token_is_403(http, mid1_txn, pattern):
    r = http(example(pattern, mid1_txn, owner_query=True), MERCHANT[MID2])
    if ACCESS[pattern] == "public":
        assert r.status == 200
    elif pattern in SELF_ROUTES:
        assert r.status == 200 and r.json()["mid"] == MID2
    else:
        assert r.status == 403, (pattern, r.status, r.body)
        assert r.json()["error"] == "forbidden"
        assert MID1 not in r.body.decode()


@pytest.mark.parametrize("pattern", PATTERNS)
def test_owner_and_operator_get_200(http, mid1_txn, pattern):
    path = example(pattern, mid1_txn, owner_query=True)
    assert http(path, OPERATOR).status == 200, path
    expected = 403 if ACCESS[pattern] == "operator" else 200
    assert http(path, MERCHANT[MID1]).status == expected, path


@pytest.mark.parametrize("pattern", sorted(LISTS_FOR_OTHERS - {"/api/statements"}))
def test_lists_show_a_merchant_only_its_own_rows(http, pattern):
    """Without ?mid= a merchant's list is its own: merchant 1's MID appears nowhere in merchant 2's answer."""
    for me, other in ((MID2, MID1), (MID1, MID2)):
        r = http(pattern, MERCHANT[me])
        assert r.status == 200
        assert other not in r.body.decode(), pattern
        for item in r.json()["items"]:
            assert item.get("mid") in (me, None), item
    # The operator sees both.
    mids = {item.get("mid") for item in http(pattern + "?limit=1000" if "transactions" in pattern else pattern,
                                            OPERATOR).json()["items"]}
    if pattern in ("/api/merchants", "/api/terminals", "/api/transactions", "/api/wallets"):
        assert {MID1, MID2} <= mids, (pattern, mids)


def test_nonexistent_objects_are_403_for_merchants_and_404_for_operators(http):
    # A merchant cannot tell another merchant's terminal from no terminal at all.
    for path in ("/api/terminals/NOSUCH01", "/api/transactions/999999", "/api/terminals/NOSUCH01/transactions",
                 "/api/merchants/999999999999999"):
        assert http(path, MERCHANT[MID1]).status == 403, path
    for path in ("/api/terminals/NOSUCH01", "/api/transactions/999999", "/api/terminals/NOSUCH01/transactions",
                 "/api/merchants/999999999999999", "/api/cards/999999", "/api/cards/abc"):
        assert http(path, OPERATOR).status == 404, path


def test_merchant_cannot_filter_on_another_merchants_terminal(http):
    r = http("/api/transactions?tid=ATM00001", MERCHANT[MID1])  # ATM00001 is merchant 2's
    assert r.status == 403
    r = http(f"/api/merchants/{MID1}/transactions?tid=ATM00001", MERCHANT[MID1])
    assert r.status == 403


def test_only_get_and_head(http):
    assert http("/api/merchants", OPERATOR, method="POST").status == 405
    assert http("/api/merchants", OPERATOR, method="DELETE").status == 405
    r = http("/api/merchants", OPERATOR, method="HEAD")
    assert r.status == 200 and r.body == b""
