"""The pages in a real headless Chromium (issue 8 "done when"): a merchant logs in to the portal, sees its
wallet balance equal to what the ledger (switch.wallets) says, and cannot open another merchant's page;
the operator's monitor shows the traffic and a masked field dump."""

from __future__ import annotations

import re

import pytest

from switch.wallets import merchant_wallets
from tests.http.browser import Browser, find_chromium
from tests.http.world import MERCHANT, MID1, MID2, OPERATOR, TRAFFIC

FOUND = find_chromium()
pytestmark = pytest.mark.skipif(FOUND is None, reason="chromium and chromedriver not installed "
                                "(apt-get install chromium chromium-driver; .ci/run does it)")

LOADED = "return document.body.dataset.loaded"


@pytest.fixture(scope="module")
def browser():
    with Browser(*FOUND) as b:
        yield b


def login(b: Browser, url: str, token: str) -> None:
    b.get(url)
    b.js("sessionStorage.clear()")
    b.get(url)
    b.wait("return !document.getElementById('login').hidden")
    b.type("#token", token)
    b.click("#login button[type=submit]")


def test_merchant_sees_its_ledger_balance_and_not_another_merchants_page(world, browser):
    b = browser
    login(b, world.base_url + "/portal", MERCHANT[MID1])
    # The portal sends a merchant to its own page.
    b.wait(f"return location.pathname === '/portal/{MID1}' && document.body.dataset.loaded === '1'")
    assert b.text("#m-name") == "Al Noor Supermarket"
    ledger = merchant_wallets(world.engine, MID1)
    assert ledger and ledger[0]["unsettled"] > 0
    for wallet in ledger:
        for field in ("available", "unsettled", "receivable"):
            cell = f"#wallets td[data-field={field}][data-currency='{wallet['currency']}']"
            shown = b.js(f"return document.querySelector(\"{cell}\").dataset.minor")
            assert int(shown) == wallet[field], field
    # What a person reads: 161.85 SAR style, from the same minor units.
    text = b.text("#wallets td[data-field=unsettled]")
    whole, frac = divmod(ledger[0]["unsettled"], 100)
    assert text == f"{whole:,}.{frac:02d} SAR"
    rows = b.js("return document.querySelectorAll('#transactions tbody tr').length")
    assert rows == sum(1 for t in TRAFFIC if t[4] in ("POS00001", "POS00002", "POS00003"))
    assert MID2 not in b.js("return document.body.innerText")

    # Another merchant's page: refused, and nothing of that merchant on screen.
    b.get(world.base_url + f"/portal/{MID2}")
    b.wait(LOADED)
    assert b.js("return !document.getElementById('denied').hidden") is True
    assert b.js("return document.getElementById('merchant').hidden") is True
    page = b.js("return document.body.innerText")
    assert "Access denied" in page and "Riyadh ATM Network" not in page
    other = merchant_wallets(world.engine, MID2)[0]
    assert f"{other['unsettled'] // 100:,}" not in page or other["unsettled"] == 0
    # The token never travels in a URL.
    assert MERCHANT[MID1] not in b.url()


def test_expired_token_cannot_log_in(world, browser):
    b = browser
    login(b, world.base_url + "/portal", "acqsim-test-expired-merchant-000000000000001")
    b.wait("return document.getElementById('login-msg').textContent")
    assert "not accepted" in b.text("#login-msg")
    assert b.js("return document.getElementById('app').hidden") is True


def test_operator_monitor_and_field_dump(world, browser):
    b = browser
    login(b, world.base_url + "/monitor", OPERATOR)
    b.wait(f"return document.getElementById('kpi-total').textContent === '{len(TRAFFIC)}'")
    b.wait("return document.querySelectorAll('#recent tbody tr.clickable').length > 0")
    assert b.js("return document.querySelectorAll('#rc-mix .row').length") == len({a['39'] for a in world.answers})
    b.click("#recent tbody tr.clickable:nth-child(2)")  # the newest (1st) is refused before the card is read
    dump = b.wait("const t = document.getElementById('dump').textContent; return t.includes('[') && t")
    assert "0210" in dump
    assert re.search(r"\d{6}\*{6}\d{4}", dump)  # the card, masked 6+4
    assert not re.search(r"\b\d{16}\b", dump)
