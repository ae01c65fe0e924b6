"""0500 batch close: the terminal's reconciliation totals against the ledger's (switch.wallets).

Fields (ISO 8583:1987): 74 credits count (refunds), 76 debits count (sales), 86 credits amount, 88 debits
amount; the batch number comes from field 60 when the terminal sends one (else the request's field 7).
Answer 00 when in balance (the events are closed under the batch), 95 (reconcile error) when not; either
way the answer carries the switch's own totals so the terminal can show the difference.
"""

from __future__ import annotations

from typing import Any


def _num(request: dict[str, str], field: str) -> int:
    v = request.get(field, "0").strip() or "0"
    return int(v) if v.isdigit() else -1


def batch_close(wallets: Any, request: dict[str, str]) -> dict[str, str]:
    tid = request.get("41", "").strip()
    if not tid:
        return {"39": "30"}
    totals = {f: _num(request, f) for f in ("74", "76", "86", "88")}
    if min(totals.values()) < 0:
        return {"39": "30"}
    batch_id = (request.get("60") or request.get("7", "")).strip()
    rec = wallets.close_batch(tid, batch_id, sales_count=totals["76"], sales_amount=totals["88"],
                              refunds_count=totals["74"], refunds_amount=totals["86"])
    return {"39": "00" if rec.in_balance else "95", "74": f"{rec.refunds_count:010d}",
            "76": f"{rec.sales_count:010d}", "86": f"{rec.refunds_amount:016d}", "88": f"{rec.sales_amount:016d}"}
