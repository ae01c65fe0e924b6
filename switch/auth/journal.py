"""The authorisation journal (table auth_requests): stored answers for duplicates, 94 on a reused STAN,
and the originals that reversals and completions name in field 90.

Rows hold no card data: the PAN is not stored (card_id points at the encrypted card) and the content
digest is an HMAC under the card data key, so it cannot be brute-forced back to a PAN.
"""

from __future__ import annotations

import json
import sys
from array import array
from datetime import timedelta
from functools import lru_cache
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

from sqlalchemy import Engine

from switch.auth.context import AuthContext, log, mti_class
from switch.issuer.pan import PanVault, mask_pan
from switch.issuer.tables import auth_log
from switch.ledger import unit

STAN_REUSE_WINDOW = timedelta(hours=24)  # a terminal's STAN wraps; older rows do not count as duplicates

# The digest's length words: 4 bytes little-endian on every machine (processes sharing one database agree).
_LENGTH = "I" if array("I").itemsize == 4 else "L"
_SWAP = sys.byteorder == "big"

_DUPLICATES = ("SELECT f7, digest, response FROM auth_requests WHERE tid = ? AND stan = ? AND mti_class = ?"
               " AND created_at >= ?")
# The same, with the reference-data generation (switch.issuer.store.IssuerStore.sync): one read less per
# request. ref_generation always holds its one row, so the LEFT JOIN yields it even with no match.
_DUPLICATES_AND_GENERATION = (
    "SELECT g.gen, a.f7, a.digest, a.response FROM ref_generation g LEFT JOIN auth_requests a"
    " ON a.tid = ? AND a.stan = ? AND a.mti_class = ? AND a.created_at >= ? WHERE g.id = 1")
_LOG_COLUMNS = tuple(c.name for c in auth_log.columns)
_RECORD_COLUMNS = ("tid", "stan", "mti_class", "f7", "digest", "response", "card_id", "mid", "proc", "amount",
                   "currency", "rc", "txn_ref", "state", "reversed_amount", "created_at", "issuer_id", "pan_enc",
                   "pan_masked")
# A request another process answered first is not an error: nothing is inserted (rowcount 0), so on
# PostgreSQL the job's transaction stays usable without a SAVEPOINT round trip around every insert.
_RECORD = (f"INSERT INTO auth_requests ({', '.join(_RECORD_COLUMNS)}) "
           f"VALUES ({', '.join('?' * len(_RECORD_COLUMNS))}) ON CONFLICT (tid, stan, mti_class, f7) DO NOTHING")
_STORED = "SELECT response FROM auth_requests WHERE tid = ? AND stan = ? AND mti_class = ? AND f7 = ?"


def request_digest(vault: PanVault, request: dict[str, str]) -> str:
    """Keyed digest of the request's content, the same for a repeat (0201, 0421) as for the original.

    The content is encoded as the lengths of every key and value (fixed-width little-endian integers),
    then the keys and the values themselves, in key order: an injective encoding, so two different
    requests never share it, at half the cost of sorted JSON. Rows written before this format (v2) hold
    the JSON form's digest, which `check_duplicate` still recognises (`legacy_digest`).
    """
    doc = dict(request)
    doc["t"] = mti_class(request.get("t", ""))
    keys = sorted(doc)
    values = [doc[k] for k in keys]
    try:
        lengths = array(_LENGTH, map(len, keys + values))
        text = "".join(keys) + "".join(values)
    except TypeError:  # a value that is not text (not from the codec): the JSON form tells 5 from "5"
        return vault.request_digest(json.dumps(doc, sort_keys=True).encode())
    if _SWAP:
        lengths.byteswap()
    return vault.request_digest(lengths.tobytes() + text.encode("utf-8", "surrogatepass"))


def legacy_digest(vault: PanVault, request: dict[str, str]) -> str:
    """The digest rows written before v2 hold (HMAC of the sorted JSON): needed only within the 24 h STAN
    window after an upgrade, to give a repeat of an older request its stored answer rather than 94."""
    doc = {k: v for k, v in request.items() if k != "t"}
    doc["t"] = mti_class(request.get("t", ""))
    return vault.keyed_digest(json.dumps(doc, sort_keys=True).encode())


_FOLLOWED_UP = ("0100", "0200", "0220")  # MTI classes a completion or reversal may name
_CLOSED = ("reversed", "captured")  # original states no completion or reversal acts on


@lru_cache(maxsize=8)
def _original_sql(classes: int, lock: bool) -> str:
    """The original's row by terminal, STAN, field 7 and one of `classes` MTI classes (text built once)."""
    return (f"SELECT {', '.join(_LOG_COLUMNS)} FROM auth_requests WHERE tid = ? AND stan = ? AND f7 = ?"
            f" AND mti_class IN ({', '.join('?' * classes)}) ORDER BY id LIMIT 1{' FOR UPDATE' if lock else ''}")


def _encode_json(response: dict[str, str]) -> str:
    """json.dumps(response), the same text, for the flat text-to-text answers (3x cheaper: json.dumps
    builds an encoder per call)."""
    try:
        return "{" + ", ".join([f"{_quote(k)}: {_quote(v)}" for k, v in response.items()]) + "}"
    except TypeError:  # a value that is not text
        return json.dumps(response)


def request_key(ctx: AuthContext) -> str:
    """Ledger idempotency key of a request: terminal, STAN, transmission time, MTI class."""
    return f"{ctx.tid}:{ctx.stan}:{ctx.request.get('7', '')}:{ctx.mti}"


def parse_f90(f90: str) -> dict[str, str]:
    """Field 90: original MTI(4) STAN(6) transmission time(10) acquirer(11) forwarder(11)."""
    return {"mti": f90[0:4], "stan": f90[4:10], "f7": f90[10:20]}


class AnsweredElsewhere(Exception):  # noqa: N818 - an outcome, not a fault
    """Another switch process journalled this very request first: its answer stands. Raised from inside
    the request's job, so that what this one did (limit counters N15, booking, a reversal's un-count) is
    rolled back with it; the runner then answers the stored answer (Runner.failed)."""

    def __init__(self, answer: dict[str, str]) -> None:
        super().__init__("answered first by another switch process")
        self.answer = answer


class Journal:
    def __init__(self, engine: Engine, vault: PanVault) -> None:
        self.engine = engine
        self.vault = vault
        # Hot statements as plain SQL (switch.ledger.unit.RawSQL); timestamps bound as SQLAlchemy would.
        self._raw = unit.raw_sql(engine)
        self._ts = auth_log.c.created_at.type.bind_processor(engine.dialect) or (lambda v: v)
        self._ts_out = auth_log.c.created_at.type.result_processor(engine.dialect, None) or (lambda v: v)

    def check_duplicate(self, ctx: AuthContext) -> tuple[str, dict[str, str]] | None:
        """("same", stored answer), ("conflict", {}) or None. Also syncs the reference-data cache when the
        runner left that to this check (`ctx.sync`): the generation comes with the same query."""
        ctx.digest = request_digest(self.vault, ctx.request)
        params = (ctx.tid, ctx.stan, ctx.mti, self._ts(ctx.now - STAN_REUSE_WINDOW))
        sync, ctx.sync = ctx.sync, None
        if sync is None:
            rows = self._raw.rows(_DUPLICATES, params)
        else:
            joined = self._raw.rows(_DUPLICATES_AND_GENERATION, params)
            sync(joined[0][0] if joined else None)
            rows = [row[1:] for row in joined if row[1] is not None]  # f7 is NOT NULL: None = no match
        if not rows:
            return None
        for _f7, digest, response in rows:
            if digest == ctx.digest:
                return "same", json.loads(response)
        legacy = legacy_digest(self.vault, ctx.request)  # a row from before v2 (rare: 24 h after upgrade)
        for _f7, digest, response in rows:
            if digest == legacy:
                return "same", json.loads(response)
        return "conflict", {}

    def record(self, ctx: AuthContext, response: dict[str, str]) -> dict[str, str]:
        """Store the answer. If another process answered the same request first, raise AnsweredElsewhere
        with its answer: inside the request's job, so everything this request wrote is rolled back."""
        f7 = ctx.request.get("7", "")
        row = self._row(ctx, response, f7)
        if unit.run_job(self.engine, lambda conn: self._raw.execute(_RECORD, row, conn)) == 1:
            return response
        # Another process answered this very request first (its insert held the key until it committed).
        with unit.read(self.engine) as conn:  # the job's connection, or a fresh snapshot that sees that commit
            found = self._raw.rows(_STORED, (ctx.tid, ctx.stan, ctx.mti, f7), conn)
        if not found:
            raise RuntimeError(f"journal key {ctx.tid}/{ctx.stan}/{ctx.mti}/{f7} clashed but holds no answer")
        raise AnsweredElsewhere(json.loads(found[0][0]))

    def _row(self, ctx: AuthContext, response: dict[str, str], f7: str) -> tuple:
        """The auth_requests row, in _RECORD_COLUMNS order (a tuple straight away: no dict per request)."""
        term, rc, issuer = ctx.terminal, response.get("39"), ctx.offus_issuer
        # The PAN is kept (encrypted) only where a follow-up may need it: an approved off-us original.
        keep_pan = issuer and ctx.pan and rc == "00" and ctx.mti in _FOLLOWED_UP
        return (ctx.tid, ctx.stan, ctx.mti, f7, ctx.digest, _encode_json(response),
                ctx.card.card_id if ctx.card else None, term.mid if term else None, ctx.proc, max(ctx.amount, 0),
                ctx.request.get("49") or (term.currency if term else None), rc, ctx.txn_ref,
                ctx.state or ("approved" if rc == "00" else "declined"), 0, self._ts(ctx.now), issuer,
                self.vault.encrypt(ctx.pan) if keep_pan else None, mask_pan(ctx.pan) if issuer and ctx.pan else None)

    def find_original(self, tid: str, f90: str, mti_classes: tuple[str, ...]) -> dict[str, Any] | None:
        """The original a completion or reversal names. Inside a job on PostgreSQL its row stays locked to
        the end of the job: two switch processes completing or reversing one original take turns, and the
        second sees what the first wrote (SQLite's single writer serialises them anyway)."""
        o = parse_f90(f90)
        wanted = (mti_class(o["mti"]),) if o["mti"].strip("0") else mti_classes
        lock = self._raw.pg and unit.current(self.engine) is not None
        rows = self._raw.rows(_original_sql(len(wanted), lock), (tid, o["stan"], o["f7"], *wanted))
        if not rows:
            return None
        row = dict(zip(_LOG_COLUMNS, rows[0], strict=True))
        row["created_at"] = self._ts_out(row["created_at"])
        return row

    def original_pan(self, row: dict[str, Any]) -> str | None:
        """The PAN an off-us original was journalled with; None for on-us rows (their card has it) and
        when it cannot be decrypted (another card-data key): the caller falls back to the request's."""
        if not row.get("pan_enc"):
            return None
        try:
            return self.vault.decrypt(row["pan_enc"])
        except Exception:  # wrong key or damaged: say so, without the ciphertext
            log.warning("journal row %s: its PAN cannot be decrypted with this card-data key", row.get("id"))
            return None

    def update_original(self, row_id: int, *, state: str, reversed_amount: int | None = None) -> None:
        sets = "state = ?" + ("" if reversed_amount is None else ", reversed_amount = ?")
        if state in _CLOSED:  # nothing can follow up on it any more: its PAN is not kept (PCI DSS 3.2.1)
            sets += ", pan_enc = NULL"
        params = (state, row_id) if reversed_amount is None else (state, reversed_amount, row_id)
        with unit.begin(self.engine) as conn:
            self._raw.execute(f"UPDATE auth_requests SET {sets} WHERE id = ?", params, conn)
