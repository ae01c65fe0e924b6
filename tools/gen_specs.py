"""Regenerate the ISO 8583:1987 dialect files in specs/ from pyiso8583's field layouts.

The JSON files are the contract (pyiso8583 specs as data); this script only documents how they were made:
    python tools/gen_specs.py
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from iso8583.specs import default, default_ascii

SPECS = Path(__file__).resolve().parent.parent / "specs"

# ISO 8583:1987 data element types; anything not listed is "ans" (text).
NUMERIC = {str(n) for n in [*range(2, 27), 27, 32, 33, 36, 49, 50, 51, 53, 66, 67, 68, 69, 70, 71, 72,
                            73, *range(74, 91), 99, 100]}
TRACK = {"35"}  # z: digits and '=' separator
BINARY = {"52", "55", "64", "65", "96", "128"}


def _write(name: str, description: str, fields: dict, extra: dict | None = None) -> None:
    doc = {"name": name, "description": description, **(extra or {}), "fields": fields}
    (SPECS / f"{name}.json").write_text(json.dumps(doc, indent=1) + "\n")


def _bcd_fields() -> dict:
    fields = copy.deepcopy(default)
    fields["t"].update(data_enc="b", max_len=2, desc="Message Type (BCD)")
    for key, spec in fields.items():
        if key in ("h", "t", "p", "1") or key in BINARY:
            if key in BINARY and spec["len_type"]:
                spec.update(len_enc="bcd", len_type=2 if spec["len_type"] == 3 else 1)
            continue
        ll = spec["len_type"]
        if key in NUMERIC or key in TRACK:
            spec.update(data_enc="b", len_count="nibbles")
            if ll:
                spec.update(len_enc="bcd", len_type=1 if ll == 2 else 2, right_pad="F")
            elif spec["max_len"] % 2:
                spec["left_pad"] = "0"
        elif ll:
            spec.update(len_enc="bcd", len_type=1 if ll == 2 else 2)
    return fields


def _ebcdic_fields() -> dict:
    fields = copy.deepcopy(default)
    for _key, spec in fields.items():
        if spec["data_enc"] != "b":
            spec["data_enc"] = "cp500"
        spec["len_enc"] = "cp500"
    return fields


def main() -> None:
    _write("ascii87", "ISO 8583:1987, ASCII MTI and fields, hex-character bitmap (pyiso8583 default_ascii)",
           copy.deepcopy(default_ascii))
    _write("binary87", "ISO 8583:1987, ASCII MTI and fields, binary bitmap, PIN, MAC and ICC (pyiso8583 default)",
           copy.deepcopy(default))
    _write("bcd87", "ISO 8583:1987, packed BCD MTI, numeric fields and lengths, binary bitmap",
           _bcd_fields(), {"track2_separator": "D"})
    _write("ebcdic87", "ISO 8583:1987, EBCDIC (cp500) MTI, fields and lengths, binary bitmap, PIN, MAC and ICC",
           _ebcdic_fields())


if __name__ == "__main__":
    main()
