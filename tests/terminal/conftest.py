from __future__ import annotations

from pathlib import Path

import pytest

from terminal_agent.cards import load_cards

FIXTURES = Path(__file__).parent / "fixtures.yaml"


@pytest.fixture
def cards():
    return {c.pan: c for c in load_cards(FIXTURES)}


@pytest.fixture
def visa(cards):
    return cards["4761739001010010"]


@pytest.fixture
def mastercard(cards):
    return cards["5413330089010004"]


@pytest.fixture
def stripe_only(cards):
    return cards["4111111111111111"]
