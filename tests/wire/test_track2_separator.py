"""A dialect's own track 2 separator on the wire (e.g. "D"), "=" inside the switch - on the compiled codec
path too (it used to skip the substitution there)."""

from __future__ import annotations

import json

from switch.paths import specs_dir
from switch.wire import load_dialect

TRACK2 = "4761739001010010=25122011143804489"


def test_custom_separator_on_the_compiled_codec(tmp_path):
    doc = json.loads((specs_dir() / "ascii87.json").read_text())
    doc.update(name="ascii87-d", track2_separator="D")
    path = tmp_path / "ascii87-d.json"
    path.write_text(json.dumps(doc))
    dialect = load_dialect(str(path))
    assert dialect._compiled is not None  # the fast path is the one under test
    msg = {"t": "0200", "3": "000000", "11": "000001", "35": TRACK2}
    wire = dialect.encode(msg)
    assert TRACK2.replace("=", "D").encode() in wire and b"=" not in wire
    assert dialect.decode(wire)["35"] == TRACK2
    assert msg["35"] == TRACK2  # the caller's message is left as it was
    plain = load_dialect("ascii87")
    assert plain.decode(plain.encode(msg))["35"] == TRACK2
