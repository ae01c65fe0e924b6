"""Token store: hashed at rest, roles, expiry, file validation, and the token-making command."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from switch.http.tokens import Principal, TokenError, TokenStore, hash_token, main
from switch.paths import fixtures_dir
from tests.http.world import EXPIRED_MERCHANT1, EXPIRED_OPERATOR, MERCHANT, OPERATOR


def test_shipped_file_holds_hashes_only():
    text = (fixtures_dir() / "tokens.yaml").read_text()
    doc = yaml.safe_load(text)
    for clear in (OPERATOR, EXPIRED_OPERATOR, EXPIRED_MERCHANT1, *MERCHANT.values()):
        assert clear not in text
        assert hashlib.sha256(clear.encode()).hexdigest() in text
    assert all("token" not in entry for entry in doc["tokens"])
    mids = {e.get("mid") for e in doc["tokens"] if e["role"] == "merchant"}
    assert set(MERCHANT) <= mids  # one token per fixture merchant


def test_authenticate_roles_and_expiry():
    store = TokenStore.load()
    assert store.authenticate(OPERATOR).is_operator
    m = store.authenticate(MERCHANT["000000000000001"])
    assert m.role == "merchant" and m.mid == "000000000000001"
    assert m.may_see("000000000000001") and not m.may_see("000000000000002") and not m.may_see(None)
    assert store.authenticate(EXPIRED_OPERATOR) is None
    assert store.authenticate(EXPIRED_MERCHANT1) is None
    assert store.authenticate(None) is None and store.authenticate("") is None
    assert store.authenticate("nope") is None


def test_expiry_is_checked_at_use():
    store = TokenStore()
    when = datetime(2030, 1, 1, tzinfo=UTC)
    store.add_token("t1", Principal("x", "operator", expires=when))
    assert store.authenticate("t1", now=when - timedelta(seconds=1)) is not None
    assert store.authenticate("t1", now=when) is None


@pytest.mark.parametrize("entry,message", [
    ({"role": "operator", "token": "clear", "sha256": "0" * 64}, "not the token itself"),
    ({"role": "admin", "sha256": "0" * 64}, "role must be"),
    ({"role": "merchant", "sha256": "0" * 64}, "needs a mid"),
    ({"role": "operator", "sha256": "abc"}, "64 hex"),
    ({"role": "operator", "sha256": "0" * 64, "expires": "soon"}, "ISO 8601"),
    ({"sha256": "0" * 64}, "needs role"),
])
def test_bad_files_are_refused(tmp_path, entry, message):
    path = tmp_path / "tokens.yaml"
    path.write_text(yaml.safe_dump({"tokens": [entry]}))
    with pytest.raises(TokenError, match=message):
        TokenStore.load(path)


def test_new_token_command(capsys, tmp_path):
    assert main(["new", "--role", "merchant", "--mid", "000000000000005"]) == 0
    out = capsys.readouterr()
    token = out.err.split(": ", 1)[1].strip()
    path = tmp_path / "tokens.yaml"
    path.write_text("tokens:\n" + out.out)
    principal = TokenStore.load(path).authenticate(token)
    assert principal.mid == "000000000000005" and hash_token(token) in out.out and token not in out.out
