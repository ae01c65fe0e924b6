"""Bearer tokens with roles for the HTTP API.

Only the SHA-256 of a token is kept (file and memory): a leaked tokens file or memory dump does not
hand out API access. Tokens are long random strings, so an unsalted fast hash is enough (no password
stretching is needed for 128+ bits of entropy); the shipped test tokens are deliberately simple and listed
in docs/http-api.md.

Roles: `operator` sees everything; `merchant` is bound to one MID and sees only that merchant's data.
"""

from __future__ import annotations

import argparse
import hashlib
import secrets
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from switch.paths import fixtures_dir

ROLES = ("operator", "merchant")


class TokenError(ValueError):
    """A tokens file that cannot be used (one line, with the entry at fault)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: an operator, or a merchant bound to `mid`."""

    name: str
    role: str
    mid: str | None = None
    expires: datetime | None = None

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"

    def may_see(self, mid: str | None) -> bool:
        """Operators see every merchant; a merchant only its own MID (never rows without a MID)."""
        return self.is_operator or (mid is not None and mid == self.mid)

    def as_json(self) -> dict:
        return {"name": self.name, "role": self.role, "mid": self.mid}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _parse_time(value, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise TokenError(f"{where}: expires {value!r} is not an ISO 8601 time") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class TokenStore:
    """Token hash -> Principal. `authenticate` answers None for unknown or expired tokens alike, so a
    caller cannot tell which of the two it holds."""

    def __init__(self, principals: dict[str, Principal] | None = None) -> None:
        self._by_hash: dict[str, Principal] = dict(principals or {})

    def add(self, sha256: str, principal: Principal) -> None:
        sha256 = sha256.lower()
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise TokenError(f"token {principal.name}: sha256 must be 64 hex digits")
        if principal.role not in ROLES:
            raise TokenError(f"token {principal.name}: role must be one of {', '.join(ROLES)}")
        if principal.role == "merchant" and not principal.mid:
            raise TokenError(f"token {principal.name}: a merchant token needs a mid")
        self._by_hash[sha256] = principal

    def add_token(self, token: str, principal: Principal) -> None:
        """Add a clear token (hashed at once; the clear value is not kept)."""
        self.add(hash_token(token), principal)

    def authenticate(self, token: str | None, now: datetime | None = None) -> Principal | None:
        if not token:
            return None
        # A dict lookup by the hash of the presented token: timing reveals nothing about stored tokens
        # because the attacker cannot choose the hash.
        principal = self._by_hash.get(hash_token(token))
        if principal is None:
            return None
        if principal.expires is not None and (now or datetime.now(UTC)) >= principal.expires:
            return None
        return principal

    def __len__(self) -> int:
        return len(self._by_hash)

    @classmethod
    def load(cls, path: str | Path | None = None) -> TokenStore:
        """Read a tokens YAML file (default: the shipped fixtures/tokens.yaml)."""
        path = Path(path) if path else fixtures_dir() / "tokens.yaml"
        try:
            with open(path, encoding="utf-8") as fh:
                doc = yaml.safe_load(fh) or {}
        except OSError as exc:
            raise TokenError(f"{path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise TokenError(f"{path}: not YAML: {exc}") from None
        store = cls()
        entries = doc.get("tokens") if isinstance(doc, dict) else None
        if not isinstance(entries, list):
            raise TokenError(f"{path}: expected a 'tokens' list")
        for i, entry in enumerate(entries):
            where = f"{path}: tokens[{i}]"
            if not isinstance(entry, dict) or "sha256" not in entry or "role" not in entry:
                raise TokenError(f"{where}: needs role and sha256")
            if "token" in entry:
                raise TokenError(f"{where}: store the sha256 of a token, not the token itself")
            mid = entry.get("mid")
            principal = Principal(name=str(entry.get("name") or f"token{i}"), role=str(entry["role"]),
                                  mid=str(mid) if mid is not None else None,
                                  expires=_parse_time(entry.get("expires"), where))
            store.add(str(entry["sha256"]), principal)
        return store


def new_token() -> str:
    return "acq_" + secrets.token_urlsafe(32)


def main(argv: list[str] | None = None) -> int:
    """`python -m switch.http.tokens new|hash`: make a token and its tokens.yaml entry."""
    parser = argparse.ArgumentParser(prog="python -m switch.http.tokens")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_new = sub.add_parser("new", help="print a new random token and its tokens.yaml entry")
    p_new.add_argument("--role", choices=ROLES, required=True)
    p_new.add_argument("--mid")
    p_new.add_argument("--name", default="")
    p_new.add_argument("--expires", help="ISO 8601 UTC time")
    p_hash = sub.add_parser("hash", help="print the sha256 of a token read from standard input")
    p_hash.set_defaults()
    args = parser.parse_args(argv)
    if args.cmd == "hash":
        print(hash_token(sys.stdin.readline().strip()))
        return 0
    if args.role == "merchant" and not args.mid:
        parser.error("--mid is needed for a merchant token")
    token = new_token()
    print(f"token (shown once): {token}", file=sys.stderr)
    entry = {"name": args.name or (f"merchant-{args.mid}" if args.mid else "operator"), "role": args.role,
             "sha256": hash_token(token)}
    if args.mid:
        entry["mid"] = args.mid
    if args.expires:
        entry["expires"] = args.expires
    print(yaml.safe_dump([entry], sort_keys=False), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
