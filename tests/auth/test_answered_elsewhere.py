"""A request another switch process answered first (AnsweredElsewhere): the stored answer is given, and a
remote issuer's approval this process got is released by a 0420 advice only behind a decline. The advice
names the request itself, so behind an approval it would cancel the approval that stands."""

from __future__ import annotations

from types import SimpleNamespace

from switch.auth.context import AuthContext
from switch.auth.journal import AnsweredElsewhere
from tests.auth.harness import card, request


class Advices:
    def __init__(self) -> None:
        self.queued: list[tuple[str, dict]] = []

    def queue_reversal(self, issuer_id: str, message: dict) -> None:
        self.queued.append((issuer_id, message))


def _remote_approved(services) -> tuple[AuthContext, Advices]:
    advices = services.remote = Advices()
    ctx = AuthContext(request=request("good-visa", amount=700))
    ctx.remote, ctx.issuer = True, SimpleNamespace(issuer_id="REMOTEBANK")  # the issuer approved our forward
    return ctx, advices


def test_behind_an_approval_no_advice_is_sent(world):
    runner, services, _ = world
    ctx, advices = _remote_approved(services)
    stored = {"39": "00", "38": "A1B2C3", "37": "611260000001"}
    assert runner.failed(ctx, AnsweredElsewhere(stored)) == stored
    assert advices.queued == []


def test_behind_a_decline_our_approval_is_released(world):
    runner, services, _ = world
    ctx, advices = _remote_approved(services)
    stored = {"39": "91", "37": "611260000002"}
    assert runner.failed(ctx, AnsweredElsewhere(stored)) == stored
    assert [issuer for issuer, _ in advices.queued] == ["REMOTEBANK"]


def test_a_failed_transaction_still_releases_and_answers_96(world):
    runner, services, _ = world
    ctx, advices = _remote_approved(services)
    assert runner.failed(ctx, RuntimeError("database gone"))["39"] == "96"
    assert len(advices.queued) == 1


def test_a_timeout_advice_for_an_approval_delivered_elsewhere_is_dropped(world, caplog):
    """Process B's forward timed out and queued a 0420 for the request, while process A got the issuer's
    approval for it and the terminal has that 00: the advice would cancel it, so it is dropped (and
    marked, not resent). Advices for a reversed original, or a request no one answered 00, still go."""
    from switch.auth.remote import RemoteIssuers
    from switch.issuer.pan import PanVault
    from tests.auth.harness import FX

    runner, services, _ = world
    remote = RemoteIssuers(None, services.store.engine, PanVault.from_hex(FX.card_data_key()))
    delivered = request("good-visa", amount=800)
    assert runner.run(AuthContext(request=dict(delivered)))["39"] == "00"  # A's approval, journalled
    reversed_sale = request("good-visa", amount=900)
    assert runner.run(AuthContext(request=dict(reversed_sale)))["39"] == "00"
    reversal = request("good-visa", mti="0400", amount=900, pin=None,
                       **{"90": f"0200{reversed_sale['11']}{reversed_sale['7']}".ljust(42, "0")})
    assert runner.run(AuthContext(request=reversal))["39"] == "00"  # the terminal's own reversal
    unanswered = request("good-visa", amount=1000)
    for msg in (delivered, reversed_sale, unanswered):
        remote.queue_reversal("REMOTEBANK", msg)
    left = [m["90"][4:10] for _, _, m, _ in remote.pending()]
    assert left == [reversed_sale["11"], unanswered["11"]]
    assert [m["90"][4:10] for _, _, m, _ in remote.pending()] == left  # dropped for good, not resent
    assert "delivered that approval" in caplog.text and card("good-visa")["pan"] not in caplog.text  # masked
