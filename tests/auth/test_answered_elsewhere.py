"""A request another switch process answered first (AnsweredElsewhere): the stored answer is given, and a
remote issuer's approval this process got is released by a 0420 advice only behind a decline. The advice
names the request itself, so behind an approval it would cancel the approval that stands."""

from __future__ import annotations

from types import SimpleNamespace

from switch.auth.context import AuthContext
from switch.auth.journal import AnsweredElsewhere
from tests.auth.harness import request


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
