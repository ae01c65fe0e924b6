"""Terminal profiles: who the terminal is (tid, mid, POS or ATM), what it can read, its keys and its host.

Profiles come from the shipped fixtures (fixtures/terminals.yaml with keys in fixtures/keys/test_keys.yaml,
or `acqsim fixtures show --json`, which has the clear test keys inline), from a file of the same shape, or
are built directly. A YAML/JSON profile file with the fields below works too (`--profile FILE`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from terminal_agent.cards import _entries, _fixture_file, load_document

CAPABILITIES = ("magstripe", "chip", "contactless", "pin", "manual")


@dataclass
class TerminalProfile:
    tid: str
    mid: str = "000000000000001"
    kind: str = "pos"                       # pos or atm
    currency: str = "682"                   # ISO 4217 numeric
    country: str = ""                       # ISO 3166 numeric; defaults to the currency's country
    capabilities: tuple[str, ...] = CAPABILITIES
    host: str = "127.0.0.1"
    port: int = 8583
    dialect: str = "ascii87"
    framing: str = "len2"
    tpdu: str | None = None                 # 10 hex digits when the host wants a TPDU
    tmk: str | None = field(default=None, repr=False)
    tpk: str | None = field(default=None, repr=False)   # initial TPK (until a key change replaces it)
    bdk: str | None = field(default=None, repr=False)   # DUKPT terminals: key injection from this BDK
    tak: str | None = field(default=None, repr=False)   # MAC key (ISO 9797-1 alg 3) for field 64
    mac_required: bool = False
    pin_mode: str = ""                      # tpk, dukpt or dukpt-aes ("" = dukpt when a BDK is set)
    initial_ksn: str | None = None
    timeout: float = 10.0                   # seconds to wait for an answer before reversing
    reversal_interval: float = 5.0          # seconds between 0420 repeats
    merchant_name: str = "ACQSIM TEST MERCHANT"
    mcc: str = "5999"

    def __post_init__(self) -> None:
        if self.kind not in ("pos", "atm"):
            raise ValueError(f"terminal kind must be pos or atm, not {self.kind!r}")
        self.tid = self.tid[:8].ljust(8)
        self.mid = self.mid[:15].ljust(15)
        if not self.country:
            self.country = self.currency
        if not self.pin_mode:
            self.pin_mode = "dukpt" if self.bdk else "tpk"

    @property
    def terminal_type(self) -> str:
        """EMV 9F35: 22 attended online-only merchant terminal, 14 unattended financial institution (ATM)."""
        return "14" if self.kind == "atm" else "22"

    @property
    def emv_capabilities(self) -> str:
        """EMV 9F33: manual/mag/IC entry; enciphered online PIN (+ signature at a POS); SDA/DDA/CDA."""
        return "6048C8" if self.kind == "atm" else "E0F8C8"

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    def with_overrides(self, **kw: Any) -> TerminalProfile:
        return replace(self, **{k: v for k, v in kw.items() if v is not None})


_FIELDS = {f.name for f in fields(TerminalProfile)}


def profile_from_dict(d: dict[str, Any], keys: dict[str, Any] | None = None) -> TerminalProfile:
    """Build a profile from a terminals.yaml / fixtures-show entry; keys fill tmk/tpk/bdk when absent."""
    values = {k: v for k, v in d.items() if k in _FIELDS}
    values["tid"] = str(d["tid"])
    for name in ("mid", "currency", "country", "mcc"):
        if name in values:
            values[name] = str(values[name])
    tkeys = ((keys or {}).get("terminals") or {}).get(str(d["tid"]), {})
    for name in ("tmk", "tpk", "tak"):
        values.setdefault(name, tkeys.get(name))
    bdk = values.get("bdk")
    bdks = (keys or {}).get("bdk") or {}
    if isinstance(bdk, str) and bdk in bdks:      # a BDK named in terminals.yaml (e.g. BDK1)
        values["bdk"] = bdks[bdk]
    if isinstance(values.get("capabilities"), (list, str)):
        caps = values["capabilities"]
        values["capabilities"] = tuple(caps.split(",") if isinstance(caps, str) else caps)
    return TerminalProfile(**values)


def load_profiles(path: str | Path | None = None) -> list[TerminalProfile]:
    f = _fixture_file(path, "terminals")
    if f is None or not f.exists():
        return []
    doc = load_document(f)
    keys = doc.get("keys") if isinstance(doc, dict) else None
    if keys is None:
        keys_file = f.parent / "keys" / "test_keys.yaml"
        keys = load_document(keys_file) if keys_file.exists() else {}
    return [profile_from_dict(e, keys) for e in _entries(doc, "terminals")]


def find_profile(tid: str, path: str | Path | None = None) -> TerminalProfile:
    for p in load_profiles(path):
        if p.tid.strip() == tid.strip():
            return p
    raise KeyError(f"terminal {tid} is not in the fixtures")
