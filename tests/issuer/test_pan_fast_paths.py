"""The cheap forms of the Luhn check and of the keyed PAN hash against their textbook definitions."""

import hashlib
import hmac
import random

from switch.issuer.pan import REQUEST_DIGEST_PREFIX, PanVault, _KeyedSha256
from switch.wire.pan import luhn_ok


def textbook_luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d // 10 + d % 10
    return total % 10 == 0


def test_luhn_matches_the_textbook_loop():
    rng = random.Random(7)
    for _ in range(20000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 25)))
        assert luhn_ok(digits) == textbook_luhn(digits), digits
    for bad in ("", "4761739001010010 ", "47617390010100１0", "²", "-4761739001010010", "476173900101001a"):
        assert not luhn_ok(bad)


def test_keyed_sha256_is_hmac_sha256():
    rng = random.Random(11)
    for _ in range(500):
        key = rng.randbytes(rng.choice([0, 1, 16, 32, 63, 64, 65, 100]))
        prefix = rng.choice([b"", REQUEST_DIGEST_PREFIX, rng.randbytes(70)])
        data = rng.randbytes(rng.randint(0, 200))
        want = hmac.new(key, prefix + data, hashlib.sha256).hexdigest()
        assert _KeyedSha256(key, prefix).hexdigest(data) == want


def test_vault_hashes_are_unchanged():
    vault = PanVault(bytes(range(32)))
    key = vault._mac_key
    pan = "4761739001010010"
    assert vault.lookup_hash(pan) == hmac.new(key, pan.encode(), hashlib.sha256).hexdigest()
    assert vault.request_digest(b"abc") == hmac.new(key, REQUEST_DIGEST_PREFIX + b"abc", hashlib.sha256).hexdigest()
