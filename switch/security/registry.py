"""Which database columns hold card data that is already protected, so `acqsim pci-scan` skips them.

A column is skipped when it is declared here (or by another package through `declare_encrypted`), when
its name ends in one of ENCRYPTED_SUFFIXES, or when its SQLAlchemy Column carries `info={"pci": ...}`
with one of PROTECTIONS ("lmk" for keys under the HSM's LMK, "aes-gcm" for vault ciphertext, "hash"
for keyed hashes, "masked" for 6+4 masked PANs). Everything else is scanned (DESIGN: Card data).
"""

from __future__ import annotations

import importlib

PROTECTIONS = ("lmk", "aes-gcm", "hash", "masked")

# Names that say "ciphertext" by convention (pan_enc, track_encrypted, tpk_lmk ...).
ENCRYPTED_SUFFIXES = ("_enc", "_encrypted", "_cipher", "_ciphertext", "_lmk", "_under_lmk")

# Known protected columns of the shipped schema, as "table.column" -> protection. The issuer stores its
# keys as payShield key-scheme cryptograms ("U" + 32 hex): single-length keys under the LMK are 16 bare
# hex digits and look clear, so they must be declared.
ENCRYPTED_COLUMNS: dict[str, str] = {
    "iss_issuers.cvk": "lmk",
    "iss_issuers.pvk": "lmk",
    "iss_issuers.imk_ac": "lmk",
    "iss_terminals.tmk": "lmk",
    "iss_terminals.tpk": "lmk",
    "iss_terminals.tak": "lmk",
    "iss_terminals.bdk": "lmk",
    "iss_cards.pan_enc": "aes-gcm",
    "iss_cards.pan_hash": "hash",
    "iss_cards.pan_masked": "masked",
}

# Modules whose tables are defined on switch.store.base.metadata; their Column.info is consulted.
TABLE_MODULES = ("switch.issuer.tables", "switch.ledger.tables", "switch.wallets.tables")

_declared: dict[str, str] = {}


def declare_encrypted(table: str, column: str, protection: str = "lmk") -> None:
    """Let another package say that `table.column` holds protected data (call at import time)."""
    if protection not in PROTECTIONS:
        raise ValueError(f"protection must be one of {', '.join(PROTECTIONS)}, got {protection!r}")
    _declared[f"{table.lower()}.{column.lower()}"] = protection


def _from_metadata() -> dict[str, str]:
    found: dict[str, str] = {}
    for name in TABLE_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # a package not installed or broken must not stop a scan
            continue
    try:
        from switch.store.base import metadata
    except Exception:
        return found
    for table in metadata.tables.values():
        for col in table.columns:
            protection = col.info.get("pci")
            if protection in PROTECTIONS:
                found[f"{table.name.lower()}.{col.name.lower()}"] = protection
    return found


class EncryptedColumns:
    """A snapshot of every way a column can be declared protected; `protection(table, column)`."""

    def __init__(self, extra: dict[str, str] | None = None) -> None:
        self._map = {**ENCRYPTED_COLUMNS, **_from_metadata(), **_declared, **(extra or {})}

    def protection(self, table: str, column: str) -> str | None:
        col = column.lower()
        hit = self._map.get(f"{table.lower()}.{col}") or self._map.get(f"*.{col}")
        if hit:
            return hit
        if col.endswith(ENCRYPTED_SUFFIXES):
            return "aes-gcm"
        return None
